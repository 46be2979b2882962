"""Schedule availability templates: the extension read into Templates and checked on every
Schedule write, and the slot times a template gives, laid out in the city's time zone."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from medsvc.errors import BusinessRule
from medsvc.fhir import WriteEvent
from medsvc.fhir.datetimes import EPOCH, parse_range
from medsvc.scheduling.slots import MAX_CAPACITY
from medsvc.security.context import AuthContext

TEMPLATE_URL = "urn:medsvc:extension:availability-template"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
# How far ahead one template may ask for slots: a year bounds what one Schedule can create.
MAX_HORIZON_DAYS = 366
ONE_DAY = timedelta(days=1)
# name: (value[x], required, repeats)
PARTS = {
    "daysOfWeek": ("valueCode", True, True),
    "availableStartTime": ("valueTime", True, False),
    "availableEndTime": ("valueTime", True, False),
    "slotMinutes": ("valuePositiveInt", True, False),
    "capacity": ("valuePositiveInt", False, False),
    "horizonDays": ("valuePositiveInt", False, False),
}
Values = dict[str, list[Any]]


@dataclass(frozen=True)
class Template:
    """One availability template: on these weekdays, slots of slot_minutes from start to end."""

    days: frozenset[int]  # date.weekday(): Monday is 0
    start: time
    end: time
    slot_minutes: int
    capacity: int = 1
    horizon_days: int | None = None  # None: the job's default horizon


def parse_templates(schedule: dict[str, Any]) -> list[Template]:
    """The Schedule's templates, or BusinessRule (422) naming the first malformed element.
    Two templates of one Schedule may not overlap on a day they share."""
    found: list[Template] = []
    for index, extension in enumerate(schedule.get("extension") or []):
        if not isinstance(extension, dict) or extension.get("url") != TEMPLATE_URL:
            continue
        template = parse_template(extension, f"Schedule.extension[{index}]")
        for other in found:
            if _overlap(template, other):
                raise BusinessRule(
                    "Two availability templates of this Schedule overlap on a day they share",
                    expression=f"Schedule.extension[{index}]",
                )
        found.append(template)
    return found


def parse_template(extension: dict[str, Any], where: str) -> Template:
    values = _values(extension, where)
    start = _time(values, "availableStartTime", where)
    end = _time(values, "availableEndTime", where)
    if end <= start:
        raise BusinessRule(
            "availableEndTime must be later than availableStartTime on the same day",
            expression=_part(where, "availableEndTime"),
        )
    # At most the window's length: a template that gives no slot is a mistake.
    minutes = _number(values, "slotMinutes", where, _minutes_between(start, end))
    days = set()
    for code in values["daysOfWeek"]:
        if code not in DAYS:
            raise BusinessRule(
                f"daysOfWeek takes the codes {', '.join(DAYS)}",
                expression=_part(where, "daysOfWeek"),
            )
        days.add(DAYS.index(code))
    return Template(
        frozenset(days),
        start,
        end,
        minutes,
        _number(values, "capacity", where, MAX_CAPACITY, default=1),
        _number(values, "horizonDays", where, MAX_HORIZON_DAYS) or None,
    )


def _part(where: str, name: str) -> str:
    return f"{where}.extension.where(url='{name}')"


def _values(extension: dict[str, Any], where: str) -> Values:
    """Each sub-extension's values by name, after checking names, types and counts."""
    if any(key.startswith("value") for key in extension):
        raise BusinessRule(
            "An availability template holds sub-extensions, not a value", expression=where
        )
    values: Values = {name: [] for name in PARTS}
    for index, part in enumerate(extension.get("extension") or []):
        name = part.get("url") if isinstance(part, dict) else None
        if name not in PARTS:
            raise BusinessRule(
                f"'{name}' is not a part of an availability template ({', '.join(PARTS)})",
                expression=f"{where}.extension[{index}]",
            )
        value_type = PARTS[name][0]
        if value_type not in part:
            raise BusinessRule(f"{name} takes a {value_type}", expression=_part(where, name))
        values[name].append(part[value_type])
    for name, (value_type, required, repeats) in PARTS.items():
        count = len(values[name])
        if (required and count == 0) or (not repeats and count > 1):
            many = {(True, True): "one or more", (True, False): "exactly one"}
            raise BusinessRule(
                f"An availability template takes {many.get((required, repeats), 'at most one')} "
                f"{name} ({value_type})",
                expression=_part(where, name),
            )
    return values


def _time(values: Values, name: str, where: str) -> time:
    try:
        parsed = time.fromisoformat(str(values[name][0]))
    except ValueError:
        parsed = None
    if parsed is None or parsed.second or parsed.microsecond:
        raise BusinessRule(
            f"{name} is a time in whole minutes such as 08:00:00", expression=_part(where, name)
        )
    return parsed


def _number(values: Values, name: str, where: str, most: int, default: int = 0) -> int:
    if not values[name]:
        return default
    value = values[name][0]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise BusinessRule(
            f"{name} must be a whole number from 1 to {most}", expression=_part(where, name)
        )
    return value


def _minutes_between(start: time, end: time) -> int:
    return (end.hour - start.hour) * 60 + end.minute - start.minute


def _overlap(a: Template, b: Template) -> bool:
    return bool(a.days & b.days) and a.start < b.end and b.start < a.end


def before_write(_session: Connection, _ctx: AuthContext, event: WriteEvent) -> None:
    """The before-write hook on Schedule: a malformed template is refused with 422."""
    if event.resource is not None:
        parse_templates(event.resource)


def instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant the city's clocks show `wall` on `day`. A time the clocks show twice
    (they go back) is its first pass; a time they skip (they go forward) is the moment they
    jump, so that later wall times never map to earlier instants."""
    local = datetime.combine(day, wall, tzinfo=zone)
    found = local.astimezone(UTC)
    naive = local.replace(tzinfo=None)
    if found.astimezone(zone).replace(tzinfo=None) == naive:
        return found
    # In the gap: fold=1 reads the wall time with the offset after the jump, an instant
    # before it; the jump is the first whole minute from there whose wall time is later.
    found = local.replace(fold=1).astimezone(UTC)
    while found.astimezone(zone).replace(tzinfo=None) < naive:
        found += timedelta(minutes=1)
    return found


def slot_times(
    template: Template, zone: ZoneInfo, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The (start, end) instants, in UTC, of the template's slots that start in [start, end).

    Each day's window runs from availableStartTime to availableEndTime on the city's clocks,
    so an 08:00 slot stays at 08:00 across a change of daylight saving time; the slots follow
    each other in real time within the window (a window across the change is an hour shorter
    or longer, with no slot overlapping another).
    """
    length = timedelta(minutes=template.slot_minutes)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() in template.days:
            begin, close = instant(day, template.start, zone), instant(day, template.end, zone)
            while begin + length <= close:
                if start <= begin < end:
                    yield begin, begin + length
                begin += length
        day += ONE_DAY


def planning_window(schedule: dict[str, Any], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Schedule.planningHorizon as [start, end) instants (open ends as far as dates go). A
    date without a time is a day of the city's calendar; the end date is included whole."""
    period = schedule.get("planningHorizon") or {}
    return (
        _bound(period.get("start"), zone, end=False) or datetime.min.replace(tzinfo=UTC),
        _bound(period.get("end"), zone, end=True) or datetime.max.replace(tzinfo=UTC),
    )


def _bound(text: str | None, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if not text:
        return None
    low, high = parse_range(text)
    if "T" in text:
        return EPOCH + timedelta(microseconds=low)
    first = (EPOCH + timedelta(microseconds=low)).date()
    try:
        after = (EPOCH + timedelta(microseconds=high + 1)).date()
    except OverflowError:  # the end of year 9999: no bound
        return None
    return instant(after if end else first, time(0), zone)
