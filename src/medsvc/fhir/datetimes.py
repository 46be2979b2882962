"""FHIR date, dateTime and instant values as ranges of microseconds since the epoch.

A value stands for the whole interval its precision implies (search.html#date): "2024" is
all of that year, "2024-03-10T10:00" is that minute. Both ends are inclusive. Values
without a timezone are taken as UTC.
"""

import re
from datetime import UTC, datetime, timedelta

from medsvc.errors import Invalid

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_BOUND = -(2**62)  # an open start
MAX_BOUND = 2**62  # an open end
ONE_MICROSECOND = timedelta(microseconds=1)

_PATTERN = re.compile(
    r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(\.(?P<fraction>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


def to_micros(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_MICROSECOND


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.month - 1 + months
    return moment.replace(year=moment.year + total // 12, month=total % 12 + 1)


def _timezone(text: str | None) -> timedelta:
    if not text or text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))


def parse_range(text: str) -> tuple[int, int]:
    """The inclusive [low, high] microsecond range of a FHIR date/dateTime/instant."""
    if not isinstance(text, str):  # a JSON number or object where a date belongs
        raise Invalid(f"{text!r} is not a FHIR date, dateTime or instant (a string)")
    match = _PATTERN.match(text.strip())
    if not match:
        raise Invalid(f"'{text}' is not a FHIR date, dateTime or instant")
    parts = match.groupdict()
    try:
        start = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            tzinfo=UTC,
        )
        if parts["fraction"]:
            start += timedelta(microseconds=int(parts["fraction"][:6].ljust(6, "0")))
        start -= _timezone(parts["tz"])
    except (ValueError, OverflowError) as error:
        raise Invalid(f"'{text}' is not a valid date: {error}") from error
    try:
        end = _end_of(start, parts)
    except (ValueError, OverflowError):  # the precision interval runs past year 9999
        return to_micros(start), MAX_BOUND
    return to_micros(start), to_micros(end) - 1


def _end_of(start: datetime, parts: dict[str, str | None]) -> datetime:
    if fraction := parts["fraction"]:
        return start + timedelta(microseconds=max(1, 10 ** (6 - min(len(fraction), 6))))
    if parts["second"]:
        return start + timedelta(seconds=1)
    if parts["minute"]:
        return start + timedelta(minutes=1)
    if parts["day"]:
        return start + timedelta(days=1)
    if parts["month"]:
        return _add_months(start, 1)
    return start.replace(year=start.year + 1)


def format_instant(moment: datetime) -> str:
    """A FHIR instant with millisecond precision, in UTC."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """Parses an ISO instant (as in _since); raises Invalid on anything else."""
    low, _high = parse_range(text)
    return EPOCH + timedelta(microseconds=low)
