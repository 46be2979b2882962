"""Mobile numbers as people type them, brought to E.164: one number, one key."""

import pytest

from medsvc.security.phones import BadPhone, e164, masked


def full_width(text: str) -> str:
    """The text in full-width forms (U+FF10 for 0): what CJK keyboards may type."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "008613800138000",
        full_width("13800138000"),  # as some phone keyboards type
        "(+86) 138 0013 8000",
    ],
)
def test_spellings_of_a_mainland_number(typed: str) -> None:
    assert e164(typed) == "+8613800138000"


def test_numbers_abroad_keep_their_country_code() -> None:
    assert e164("+852 9123 4567") == "+85291234567"
    assert e164("0044 7700 900123") == "+447700900123"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "12800138000",  # 12x is no mobile range
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "+86 10 1234 5678",  # a Beijing landline
        "+0 1234 5678",
        "+1234567890123456",  # 16 digits: longer than E.164 allows
        "13800138000; DROP TABLE account",
        "13800138000\u0000",
    ],
)
def test_what_is_no_mobile_number(typed: str) -> None:
    with pytest.raises(BadPhone):
        e164(typed)


def test_a_number_is_shown_masked() -> None:
    assert masked("+8613800138000") == "+86 ****8000"
