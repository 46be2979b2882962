"""Identity documents as people type them: the resident identity number's check character
(ISO 7064 MOD 11-2, GB 11643-1999), its birth date, passports, and masking."""

from datetime import date

import pytest

from medsvc.identity import documents
from medsvc.identity.documents import BadDocument, check_character, parse, resident_number
from tests.identity.conftest import CHILD, LEI, MEI, WITH_X

TODAY = date(2026, 12, 8)


def full_width(text: str) -> str:
    """The text in full-width forms (U+FF10 for 0): what CJK keyboards may type."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


VALID = [MEI, LEI, CHILD, WITH_X, "11010519491231002X"]


@pytest.mark.parametrize("number", VALID)
def test_valid_numbers_are_accepted(number: str) -> None:
    assert resident_number(number, TODAY).number == number


def test_the_check_character_of_the_standard_s_example() -> None:
    # GB 11643-1999 appendix A: 11010519491231002 has the check character X.
    assert check_character("11010519491231002") == "X"


def test_the_number_tells_birth_date_and_gender() -> None:
    mei = resident_number(MEI, TODAY)
    assert (mei.birth_date, mei.gender) == (date(1990, 3, 7), "male")  # sequence 123: odd
    child = resident_number(CHILD, TODAY)
    assert (child.birth_date, child.gender) == (date(2015, 6, 1), "female")  # 002: even


@pytest.mark.parametrize("number", VALID)
def test_every_changed_character_is_caught(number: str) -> None:
    """MOD 11-2 catches every single substitution: each of the 18 places, every other value."""
    for place in range(18):
        for other in "0123456789X":
            if other == number[place] or (other == "X" and place < 17):
                continue
            typo = number[:place] + other + number[place + 1 :]
            with pytest.raises(BadDocument):
                resident_number(typo, TODAY)


def test_swapped_neighbours_are_caught() -> None:
    for place in range(16):
        swapped = MEI[:place] + MEI[place + 1] + MEI[place] + MEI[place + 2 :]
        if swapped != MEI:
            with pytest.raises(BadDocument):
                resident_number(swapped, TODAY)


@pytest.mark.parametrize(
    "typed",
    [
        "31011519700101002x",  # a lower-case x
        full_width(WITH_X),  # as some phone keyboards type
        "310115 19700101 002X",  # grouped with spaces
        " 31011519700101002X\n",
    ],
)
def test_spellings_of_one_number_are_one_number(typed: str) -> None:
    assert resident_number(typed, TODAY).number == WITH_X


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("11010519900307123", "17 digits"),
        ("1101051990030712390", "19 digits"),
        ("11010519900307123A", "a letter other than X"),
        ("X10105199003071239", "X not last"),
        ("", "nothing"),
        ("11010519900230123" + check_character("11010519900230123"), "30 February"),
        ("11010518891231123" + check_character("11010518891231123"), "born before 1900"),
        ("11010520991231123" + check_character("11010520991231123"), "born in the future"),
    ],
)
def test_impossible_numbers_are_refused(number: str, why: str) -> None:
    with pytest.raises(BadDocument):
        resident_number(number, TODAY)


def test_passports_name_their_issuing_country() -> None:
    document = parse("passport", "e1234 5678", "chn", TODAY)
    assert (document.kind, document.number, document.country) == ("passport", "E12345678", "CHN")
    assert document.key != parse("passport", "E12345678", "FRA", TODAY).key


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("E12", "CHN"),
        ("E1234567890", "CHN"),
        ("E1234-567", "CHN"),
        ("E12345678", "CN"),
        ("E12345678", ""),
    ],
)
def test_bad_passports_are_refused(number: str, country: str) -> None:
    with pytest.raises(BadDocument):
        parse("passport", number, country, TODAY)


@pytest.mark.parametrize("kind", ["", "driving-licence", "RESIDENT", "resident "])
def test_only_known_kinds_of_document(kind: str) -> None:
    with pytest.raises(BadDocument):
        parse(kind, MEI, "", TODAY)


def test_a_document_is_shown_masked() -> None:
    assert resident_number(MEI, TODAY).masked() == "110***********1239"
    assert parse("passport", "E12345678", "CHN", TODAY).masked() == "E12**5678"


def test_one_document_is_one_key_whatever_its_spelling() -> None:
    spelled = [resident_number(s, TODAY).key for s in (WITH_X, WITH_X.lower(), f" {WITH_X} ")]
    assert len(set(spelled)) == 1
    assert documents.RESIDENT in spelled[0]
