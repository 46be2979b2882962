"""Availability templates as pure functions: the extension read and checked, and the slot
times laid out on the city's clocks, across the changes of daylight saving time."""

import itertools
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B.structuredefinition import StructureDefinition

from medsvc.errors import BusinessRule
from medsvc.fhir import validation
from medsvc.kit.paths import data_path
from medsvc.scheduling.materialise import template_slot_id
from medsvc.scheduling.templates import (
    PARTS,
    TEMPLATE_URL,
    Template,
    instant,
    parse_templates,
    planning_window,
    slot_times,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
EVERY_DAY = frozenset(range(7))
ONE_DAY = timedelta(days=1)


def template(
    days: list[str] | None = None,
    start: str = "08:00:00",
    end: str = "12:00:00",
    minutes: int | None = 20,
    **more: Any,
) -> dict[str, Any]:
    """The extension; more adds parts by name (capacity=3, horizonDays=7)."""
    parts: list[dict[str, Any]] = [
        {"url": "daysOfWeek", "valueCode": day} for day in (WEEKDAYS if days is None else days)
    ]
    parts += [
        {"url": "availableStartTime", "valueTime": start},
        {"url": "availableEndTime", "valueTime": end},
    ]
    if minutes is not None:
        parts.append({"url": "slotMinutes", "valuePositiveInt": minutes})
    parts += [{"url": name, "valuePositiveInt": value} for name, value in more.items()]
    return {"url": TEMPLATE_URL, "extension": parts}


def schedule(*templates: dict[str, Any], **elements: Any) -> dict[str, Any]:
    return {
        "resourceType": "Schedule",
        "actor": [{"reference": "Practitioner/p1"}],
        "extension": list(templates),
        **elements,
    }


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_a_template_is_read_with_its_defaults() -> None:
    other = {"url": "http://example.org/other", "valueString": "kept out"}
    first, second = parse_templates(
        schedule(
            other,
            template(),
            template(["tue"], "13:00:00", "15:00:00", 30, capacity=3, horizonDays=7),
        )
    )
    assert first == Template(frozenset(range(5)), time(8), time(12), 20, 1, None)
    assert second == Template(frozenset({1}), time(13), time(15), 30, 3, 7)


def test_a_schedule_without_templates_has_none() -> None:
    assert parse_templates({"resourceType": "Schedule"}) == []


def _replace(extension: dict[str, Any], name: str, part: dict[str, Any] | None) -> None:
    parts = [p for p in extension["extension"] if p["url"] != name]
    extension["extension"] = parts + ([part] if part else [])


def _malformed(case: str) -> dict[str, Any]:
    extension = template()
    if case == "missing slotMinutes":
        _replace(extension, "slotMinutes", None)
    elif case == "day code":
        _replace(extension, "daysOfWeek", {"url": "daysOfWeek", "valueCode": "monday"})
    elif case == "no day":
        _replace(extension, "daysOfWeek", None)
    elif case == "end before start":
        _replace(
            extension, "availableEndTime", {"url": "availableEndTime", "valueTime": "07:00:00"}
        )
    elif case == "wrong type":
        _replace(extension, "availableStartTime", {"url": "availableStartTime", "valueString": "8"})
    elif case == "seconds":
        _replace(
            extension, "availableStartTime", {"url": "availableStartTime", "valueTime": "08:00:30"}
        )
    elif case == "unknown part":
        extension["extension"].append({"url": "slotMinute", "valuePositiveInt": 20})
    elif case == "two slotMinutes":
        extension["extension"].append({"url": "slotMinutes", "valuePositiveInt": 30})
    elif case == "slot longer than window":
        _replace(extension, "slotMinutes", {"url": "slotMinutes", "valuePositiveInt": 241})
    elif case == "capacity":
        extension["extension"].append({"url": "capacity", "valuePositiveInt": 1001})
    elif case == "horizonDays":
        extension["extension"].append({"url": "horizonDays", "valuePositiveInt": 367})
    elif case == "a value":
        extension["valueString"] = "08-12"
    return extension


CASES = {
    "missing slotMinutes": "Schedule.extension[0].extension.where(url='slotMinutes')",
    "day code": "Schedule.extension[0].extension.where(url='daysOfWeek')",
    "no day": "Schedule.extension[0].extension.where(url='daysOfWeek')",
    "end before start": "Schedule.extension[0].extension.where(url='availableEndTime')",
    "wrong type": "Schedule.extension[0].extension.where(url='availableStartTime')",
    "seconds": "Schedule.extension[0].extension.where(url='availableStartTime')",
    "unknown part": "Schedule.extension[0].extension[8]",
    "two slotMinutes": "Schedule.extension[0].extension.where(url='slotMinutes')",
    "slot longer than window": "Schedule.extension[0].extension.where(url='slotMinutes')",
    "capacity": "Schedule.extension[0].extension.where(url='capacity')",
    "horizonDays": "Schedule.extension[0].extension.where(url='horizonDays')",
    "a value": "Schedule.extension[0]",
}


@pytest.mark.parametrize(("case", "expression"), CASES.items())
def test_a_malformed_template_names_its_element(case: str, expression: str) -> None:
    with pytest.raises(BusinessRule) as refused:
        parse_templates(schedule(_malformed(case)))
    assert refused.value.status == 422
    assert refused.value.issues[0].expression == (expression,)


def test_templates_of_one_schedule_may_not_overlap_on_a_shared_day() -> None:
    with pytest.raises(BusinessRule) as refused:
        parse_templates(schedule(template(), template(["tue"], "11:00:00", "13:00:00", 30)))
    assert refused.value.issues[0].expression == ("Schedule.extension[1]",)
    # Back to back, or on other days, they may.
    assert (
        len(parse_templates(schedule(template(), template(["tue"], "12:00:00", "13:00:00")))) == 2
    )
    assert (
        len(parse_templates(schedule(template(), template(["sat"], "08:00:00", "09:00:00")))) == 2
    )


def test_slots_are_laid_out_on_the_citys_clocks() -> None:
    [weekdays] = parse_templates(schedule(template()))
    monday = utc(2026, 3, 1, 22)  # Monday 2 March 2026, 00:00 in Helsinki (UTC+2)
    times = list(slot_times(weekdays, HELSINKI, monday, monday + timedelta(days=7)))
    assert len(times) == 5 * 12
    assert times[0] == (utc(2026, 3, 2, 6), utc(2026, 3, 2, 6, 20))
    assert times[11] == (utc(2026, 3, 2, 9, 40), utc(2026, 3, 2, 10))
    assert times[-1] == (utc(2026, 3, 6, 9, 40), utc(2026, 3, 6, 10))
    locals_ = {start.astimezone(HELSINKI).strftime("%a %H:%M") for start, _end in times}
    assert "Mon 08:00" in locals_
    assert "Fri 11:40" in locals_
    assert not any(day in text for text in locals_ for day in ("Sat", "Sun"))


def test_slot_times_are_those_starting_in_the_span() -> None:
    [weekdays] = parse_templates(schedule(template()))
    start, end = utc(2026, 3, 2, 9, 30), utc(2026, 3, 3, 6, 20)  # Mon 11:30 to Tue 08:20
    times = list(slot_times(weekdays, HELSINKI, start, end))
    assert [s for s, _e in times] == [utc(2026, 3, 2, 9, 40), utc(2026, 3, 3, 6)]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # Clocks go forward on Sunday 29 March 2026 (UTC+2 to UTC+3)...
        (utc(2026, 3, 28, 6), utc(2026, 3, 30, 5)),
        # ...and back on Sunday 25 October 2026 (UTC+3 to UTC+2).
        (utc(2026, 10, 24, 5), utc(2026, 10, 26, 6)),
    ],
)
def test_an_eight_oclock_slot_stays_at_eight_across_daylight_saving(
    before: datetime, after: datetime
) -> None:
    every_day = Template(EVERY_DAY, time(8), time(9), 60)
    times = list(slot_times(every_day, HELSINKI, before, after + timedelta(hours=1)))
    assert times[0][0] == before
    assert times[-1][0] == after
    assert len(times) == 3
    assert all(s.astimezone(HELSINKI).hour == 8 for s, _e in times)
    assert all(e - s == timedelta(hours=1) for s, e in times)


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2026, 3, 29), 5), (date(2026, 10, 25), 7)], ids=["spring", "autumn"]
)
def test_a_night_window_across_the_change_follows_real_time(day: date, hours: int) -> None:
    night = Template(EVERY_DAY, time(0), time(6), 60)
    start = instant(day, time(0), HELSINKI)
    times = list(slot_times(night, HELSINKI, start, start + timedelta(hours=8)))
    assert len(times) == hours
    assert all(b[0] == a[1] for a, b in itertools.pairwise(times))  # back to back


def test_a_skipped_or_repeated_wall_time_maps_to_one_instant() -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    # 03:00 to 04:00 does not exist in spring: the clocks jump at 01:00 UTC.
    assert instant(spring, time(3, 30), HELSINKI) == utc(2026, 3, 29, 1)
    assert instant(spring, time(4), HELSINKI) == utc(2026, 3, 29, 1)
    # 03:00 to 04:00 is shown twice in autumn: the first pass.
    assert instant(autumn, time(3, 30), HELSINKI) == utc(2026, 10, 25, 0, 30)
    assert instant(autumn, time(4), HELSINKI) == utc(2026, 10, 25, 2)


def test_templates_that_touch_the_skipped_hour_do_not_overlap() -> None:
    first, second = parse_templates(
        schedule(
            template(["sun"], "02:00:00", "03:30:00", 30),
            template(["sun"], "04:00:00", "05:00:00", 30),
        )
    )
    day = instant(date(2026, 3, 29), time(0), HELSINKI)
    times = [
        *slot_times(first, HELSINKI, day, day + ONE_DAY),
        *slot_times(second, HELSINKI, day, day + ONE_DAY),
    ]
    times.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))


def test_the_planning_horizon_is_read_in_the_citys_calendar() -> None:
    dates = schedule(planningHorizon={"start": "2026-03-02", "end": "2026-03-31"})
    assert planning_window(dates, HELSINKI) == (utc(2026, 3, 1, 22), utc(2026, 3, 31, 21))
    exact = schedule(
        planningHorizon={"start": "2026-03-02T10:00:00+02:00", "end": "2026-03-03T12:00:00Z"}
    )
    assert planning_window(exact, HELSINKI) == (utc(2026, 3, 2, 8), utc(2026, 3, 3, 12))
    start, end = planning_window(schedule(), HELSINKI)
    assert start < utc(1900, 1, 1)
    assert end > utc(9000, 1, 1)


def test_template_slot_ids_are_readable_or_a_hash_when_too_long() -> None:
    start = utc(2026, 3, 2, 6, 20)
    assert template_slot_id("kallio-gp", start) == "kallio-gp-202603020620"
    long_id = "s" * 60
    hashed = template_slot_id(long_id, start)
    assert hashed.startswith("t-")
    assert len(hashed) == 42
    assert hashed == template_slot_id(long_id, start + timedelta(seconds=30))
    assert hashed != template_slot_id(long_id, start + timedelta(minutes=1))


def test_the_published_definition_and_example_say_what_the_code_does() -> None:
    profiles = data_path("fhir_profiles")
    definition = json.loads((profiles / "extensions" / "availability-template.json").read_text())
    StructureDefinition.model_validate(definition)
    assert definition["url"] == TEMPLATE_URL
    elements = definition["differential"]["element"]
    slices = {e["sliceName"]: e for e in elements if "sliceName" in e}
    assert set(slices) == set(PARTS)
    for name, (value_type, required, repeats) in PARTS.items():
        assert (slices[name]["min"], slices[name]["max"]) == (
            int(required),
            "*" if repeats else "1",
        )
        [value] = [e for e in elements if e["id"] == f"Extension.extension:{name}.value[x]"]
        assert (
            value_type
            == "value" + value["type"][0]["code"][0].upper() + value["type"][0]["code"][1:]
        )
    example = json.loads(
        (profiles / "examples" / "Schedule-availability-template.json").read_text()
    )
    assert validation.find_issues(example) == []
    mornings, afternoons = parse_templates(example)
    assert (mornings.slot_minutes, afternoons.capacity, afternoons.horizon_days) == (20, 3, 14)
