"""Identity documents as a person types them: the resident identity number (GB 11643-1999,
its check character ISO 7064 MOD 11-2) and passports; parsed, checked and shown masked."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

RESIDENT = "resident"
PASSPORT = "passport"
KINDS = (RESIDENT, PASSPORT)

# ISO 7064 MOD 11-2 over the first 17 digits (GB 11643-1999 section 6.2).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_RESIDENT = re.compile(r"[0-9]{17}[0-9X]")
# ICAO Doc 9303: up to 9 characters in the machine-readable zone; some states use fewer.
_PASSPORT = re.compile(r"[A-Z0-9]{5,9}")
_COUNTRY = re.compile(r"[A-Z]{3}")  # ISO 3166-1 alpha-3, as the passport's own code


class BadDocument(ValueError):
    """A document number that cannot be right; the message names why, in English."""


@dataclass(frozen=True)
class Document:
    kind: str
    number: str  # normalised: no spaces, upper case
    country: str = "CHN"  # the issuing state, ISO 3166-1 alpha-3
    birth_date: date | None = None  # what the number itself says (resident numbers)
    gender: str | None = None  # likewise: the sequence code's parity

    @property
    def key(self) -> str:
        """What makes two documents the same document: one identity, one account."""
        return f"{self.kind}:{self.country}:{self.number}"

    def masked(self) -> str:
        """The number as a page may show it: its first 3 and last 4 characters."""
        hidden = "*" * max(0, len(self.number) - 7)
        return self.number[:3] + hidden + self.number[-4:]


def normalised_spacing(text: str) -> str:
    """One Unicode form (NFKC: full-width letters and digits folded), every space a space."""
    return re.sub(r"\s", " ", unicodedata.normalize("NFKC", text))


def normalised(text: str) -> str:
    """Full-width digits and letters folded (NFKC), spaces removed, upper case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def check_character(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def resident_number(text: str, today: date) -> Document:
    number = normalised(text)
    if not _RESIDENT.fullmatch(number):
        raise BadDocument("a resident identity number has 17 digits and a digit or X")
    if check_character(number[:17]) != number[17]:
        raise BadDocument("the check character does not match the number")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise BadDocument("the birth date in the number is not a date") from None
    if not date(1900, 1, 1) <= born <= today:
        raise BadDocument("the birth date in the number is not possible")
    gender = "male" if int(number[16]) % 2 else "female"
    return Document(RESIDENT, number, "CHN", born, gender)


def passport(text: str, country: str) -> Document:
    number, state = normalised(text), normalised(country)
    if not _PASSPORT.fullmatch(number):
        raise BadDocument("a passport number has 5 to 9 letters and digits")
    if not _COUNTRY.fullmatch(state):
        raise BadDocument("the issuing country is a three-letter code such as CHN")
    return Document(PASSPORT, number, state)


def parse(kind: str, number: str, country: str, today: date) -> Document:
    if kind == RESIDENT:
        return resident_number(number, today)
    if kind == PASSPORT:
        return passport(number, country)
    raise BadDocument(f"the document kind is one of {', '.join(KINDS)}")
