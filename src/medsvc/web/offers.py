"""Free times as the pages offer them: by local day, each time with its slot, its time of day
and its button's accessible name, formatted once per page in Python (a template's function
call costs tens of microseconds, and a doctor's page offers hundreds of times)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from medsvc.web import display, i18n
from medsvc.web.directory import FreeTime
from medsvc.web.render import Formats


@dataclass(frozen=True)
class Offer:
    slot: str  # Slot/id, the value its button sends
    at: str  # the local time of day as the language writes it
    label: str  # what a screen reader says of the button: the time and the day


@dataclass(frozen=True)
class OfferedDay:
    name: str  # the local day as the language writes it
    offers: list[Offer]


def _local_days(times: list[FreeTime], formats: Formats) -> dict[date, list[tuple[str, datetime]]]:
    days: dict[date, list[tuple[str, datetime]]] = defaultdict(list)
    for time in times:
        start = display.parse_instant(time.start)
        if start is not None:
            local = start.astimezone(formats.timezone)
            days[local.date()].append((time.slot, local))
    return days


def offered(times: list[FreeTime], formats: Formats, moving: bool = False) -> list[OfferedDay]:
    """The times by local day, in order; moving: each button moves an appointment there
    rather than holding the time."""
    gettext = i18n.translations(formats.locale).gettext
    name = gettext("Move to %(time)s on %(day)s") if moving else gettext("Hold %(time)s on %(day)s")
    found = []
    for day, local_times in sorted(_local_days(times, formats).items()):
        day_name = formats.day(day)
        offers = []
        for slot, local in local_times:
            at = formats.time(local)
            offers.append(Offer(slot, at, name % {"time": at, "day": day_name}))
        found.append(OfferedDay(day_name, offers))
    return found


def zone_of(times: list[FreeTime], formats: Formats) -> str:
    """The name of the zone the times are shown in, at the first of them."""
    for time in times:
        start = display.parse_instant(time.start)
        if start is not None:
            return formats.zone(start)
    return ""
