"""FHIR dates as precision ranges."""

from datetime import UTC, datetime

import pytest

from medsvc.errors import Invalid
from medsvc.fhir.datetimes import MAX_BOUND, format_instant, parse_range, to_micros


def micros(*args: int) -> int:
    return to_micros(datetime(*args, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2024", micros(2024, 1, 1), micros(2025, 1, 1) - 1),
        ("2024-02", micros(2024, 2, 1), micros(2024, 3, 1) - 1),
        ("2024-12", micros(2024, 12, 1), micros(2025, 1, 1) - 1),
        ("2024-03-10", micros(2024, 3, 10), micros(2024, 3, 11) - 1),
        ("2024-03-10T10:00", micros(2024, 3, 10, 10), micros(2024, 3, 10, 10, 1) - 1),
        ("2024-03-10T10:00:00Z", micros(2024, 3, 10, 10), micros(2024, 3, 10, 10, 0, 1) - 1),
        (
            "2024-03-10T12:00:00.5+02:00",
            micros(2024, 3, 10, 10, 0, 0, 500000),
            micros(2024, 3, 10, 10, 0, 0, 600000) - 1,
        ),
    ],
)
def test_ranges(text: str, low: int, high: int) -> None:
    assert parse_range(text) == (low, high)


def test_end_of_time_is_open() -> None:
    assert parse_range("9999")[1] == MAX_BOUND


@pytest.mark.parametrize(
    "text",
    [
        "",
        "24",
        "2024-13",
        "2024-02-30",
        "2024-01-01T25:00",
        "0001-01-01T00:00:00+01:00",
        "tomorrow",
    ],
)
def test_invalid_dates(text: str) -> None:
    with pytest.raises(Invalid):
        parse_range(text)


def test_instant_format() -> None:
    assert (
        format_instant(datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC))
        == "2024-01-02T03:04:05.678Z"
    )
