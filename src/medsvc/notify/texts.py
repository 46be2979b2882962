"""The texts of citizens' notices in each locale, from the gettext catalogues in locale/
(domain "notices"; `make messages` extracts the messages marked here). Nothing clinical
goes into them: a notice may be read on a locked phone screen."""

import gettext
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time

from medsvc.kit import catalogues

CATALOGUES = Path(__file__).parent / "locale"
DOMAIN = "notices"


def _(message: str) -> str:
    """Marks a message for extraction; it is translated when a notice is written."""
    return message


REMINDER = _("Reminder: you have an appointment on %(date)s at %(time)s (%(zone)s).")
REMINDER_AT = _(
    "Reminder: you have an appointment on %(date)s at %(time)s (%(zone)s) at %(place)s."
)
APPOINTMENT_CHANGED = _("The hospital has changed one of your appointments. Sign in to see it.")
RESULT_RELEASED = _("A new result is ready for you. Sign in to read it.")
# A notice to someone told in a patient's place (a proxy): whom it is for, then its text.
FOR_SOMEONE = _("For %(name)s: %(text)s")
PROXY_CONSENT = _(
    "%(name)s asks to act for you in the city's hospital service: to book your appointments "
    "and read your results. If you agree, tell them this code: %(code)s. It expires in "
    "%(minutes)s minutes. If you do not agree, do nothing."
)
PHONE_CODE = _(
    "Your one-time code is %(code)s. It expires in %(minutes)s minutes. "
    "Nobody from a hospital will ever ask you for it."
)


def translations(locale: str) -> gettext.GNUTranslations:
    return catalogues.translations(CATALOGUES, DOMAIN, locale)


def text(locale: str, message: str, **values: str) -> str:
    """A message in a locale, its placeholders filled in."""
    translated = translations(locale).gettext(message)
    return translated % values if values else translated


def reminder(locale: str, start: datetime, zone: ZoneInfo, place: str | None) -> str:
    """When (in the deployment's zone, the zone named) and where (a place's name)."""
    local = start.astimezone(zone)
    when = {
        "date": format_date(local, "full", locale=locale),
        "time": format_time(local, "short", locale=locale),
        "zone": format_datetime(local, "zzzz", locale=locale),
    }
    if place:
        return text(locale, REMINDER_AT, place=place, **when)
    return text(locale, REMINDER, **when)
