"""Mobile numbers as people type them, brought to one form (E.164, ITU-T E.164) so that a
number is one key for codes, limits and sign-in however it was spelled."""

import re
import unicodedata

# Mainland mobile numbers: 11 digits from 13x to 19x (the numbering plan of MIIT).
_MAINLAND = re.compile(r"1[3-9][0-9]{9}")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{7,14}")  # E.164: at most 15 digits


class BadPhone(ValueError):
    """Not a mobile number a code can be sent to."""


def e164(text: str) -> str:
    spelled = re.sub(r"[\s\-().]", "", unicodedata.normalize("NFKC", text))
    if spelled.startswith("00"):
        spelled = "+" + spelled[2:]
    if _MAINLAND.fullmatch(spelled):
        spelled = "+86" + spelled
    if spelled.startswith("+86") and not _MAINLAND.fullmatch(spelled[3:]):
        raise BadPhone("a mainland mobile number has 11 digits and starts with 13 to 19")
    if not _INTERNATIONAL.fullmatch(spelled):
        raise BadPhone("a mobile number has 8 to 15 digits after + and the country code")
    return spelled


def masked(number: str) -> str:
    """The number as a page may show it: its last 4 digits, and the country code of a
    mainland number (other countries' codes have 1 to 3 digits: none is shown)."""
    country = "+86 " if number.startswith("+86") else "+"
    return f"{country}****{number[-4:]}"
