"""Dates and times as the app writes them: in the deployment's zone and the person's language,
and the FHIR dates of lesser precision or beyond the calendar written as well as they can be,
never failing the page."""

from datetime import date

import pytest

from medsvc.web.render import Formats

EN = Formats("en", "Asia/Shanghai")
ZH = Formats("zh_Hans_CN", "Asia/Shanghai")


def test_an_instant_is_shown_in_the_deployments_zone() -> None:
    assert EN.time("2026-12-07T01:20:00Z") == "9:20\u202fAM"
    assert ZH.time("2026-12-07T01:20:00Z") == "09:20"
    assert EN.date("2026-12-06T17:00:00Z") == "Monday, December 7, 2026"
    assert ZH.date("2026-12-06T17:00:00Z") == "2026年12月7日星期一"
    assert ZH.zone("2026-12-07T01:20:00Z") == "中国标准时间"


@pytest.mark.parametrize(
    ("moment", "english", "chinese"),
    [
        ("2026", "2026", "2026年"),
        ("2026-11", "Nov 2026", "2026年11月"),
        ("2026-11-02", "Monday, November 2, 2026", "2026年11月2日星期一"),
    ],
)
def test_a_date_of_lesser_precision_is_written_as_precise_as_it_is(
    moment: str, english: str, chinese: str
) -> None:
    assert EN.date(moment) == english
    assert ZH.date(moment) == chinese
    assert EN.time(moment) == ""
    assert EN.zone(moment) == ""


@pytest.mark.parametrize(
    "moment",
    [
        "9999-12-31T23:00:00Z",  # beyond the calendar once moved to +08:00
        "0001-01-01T00:00:00+14:00",
        "2026-02-30",
        "2026-13",
        "not a date",
        "",
        "2026-11-02T08:30:00",  # a time without a zone: no moment in time
    ],
)
def test_a_moment_that_cannot_be_placed_never_fails(moment: str) -> None:
    for formats in (EN, ZH):
        assert formats.time(moment) == ""
        assert formats.zone(moment) == ""
        assert isinstance(formats.date(moment), str)
        assert isinstance(formats.short_date(moment), str)
        assert isinstance(formats.date_time(moment), str)


def test_times_and_days_formatted_once_are_still_each_moments_own() -> None:
    """A page formats each time of day and each day once: the same clock time on another day,
    or another time on the same day, is still written as its own."""
    formats = Formats("en", "Europe/Berlin")  # a zone with summer time
    assert formats.time("2026-03-28T08:30:00Z") == "9:30\u202fAM"  # CET, +01:00
    assert formats.time("2026-03-29T07:30:00Z") == "9:30\u202fAM"  # CEST, +02:00
    assert formats.time("2026-03-29T07:45:00Z") == "9:45\u202fAM"
    assert formats.date("2026-03-28T23:30:00Z") == "Sunday, March 29, 2026"  # local midnight past
    assert formats.date("2026-03-28T22:30:00Z") == "Saturday, March 28, 2026"
    assert formats.day(date(2026, 3, 29)) == "Sunday, March 29, 2026"
