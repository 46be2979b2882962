"""Pages from Jinja2 templates in the person's language, with the headers every page of the
app carries: a strict Content-Security-Policy and no caching of health data."""

import datetime as dt
import re
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from medsvc.web import i18n
from medsvc.web.messages import template_gettext

# No inline script or style, nothing from elsewhere, no framing, forms only to this site
# (the sign-in form posts to the authorization endpoint, on this origin too).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# A FHIR date (datatypes.html#date): a year, a year and month, or a full date.
PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",  # pages carry health data: no browser or proxy keeps them
    # Not "no-referrer": with it, browsers send "Origin: null" with a form's POST (Fetch
    # standard, "append a request Origin header"), and the Origin checks of the sign-in
    # form and the app's forms could not tell our forms from another site's.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


@lru_cache(maxsize=len(i18n.LOCALES))
def _babel_locale(locale: str) -> Locale:
    """Parsed once: Babel parses a locale given by its name again on every call."""
    return Locale.parse(locale)


# What depends only on the language and the value is formatted once per process: Babel takes
# tens of microseconds a call, and a page shows tens to hundreds of dates, times and numbers.
# A day's and a time of day's text do not depend on the zone (the moment is local already).
FORMATTED = 4096


@lru_cache(maxsize=FORMATTED)
def _full_day(locale: str, day: dt.date) -> str:
    return format_date(day, "full", locale=_babel_locale(locale))


@lru_cache(maxsize=FORMATTED)
def _short_day(locale: str, day: dt.date) -> str:
    return format_skeleton("yMMMd", day, locale=_babel_locale(locale))


@lru_cache(maxsize=FORMATTED)
def _time_of_day(locale: str, of_day: dt.time) -> str:
    return format_time(of_day, "short", locale=_babel_locale(locale))


@lru_cache(maxsize=FORMATTED)
def _number(locale: str, value: float) -> str:
    return format_decimal(value, locale=_babel_locale(locale))


class Formats:
    """Dates, times and numbers for one locale in the deployment's time zone, the zone named."""

    def __init__(self, locale: str, timezone: str):
        self.locale, self.timezone = locale, ZoneInfo(timezone)
        self._babel = _babel_locale(locale)

    def _local(self, moment: dt.datetime | str) -> dt.datetime | None:
        """A FHIR dateTime with its time in the deployment's zone; None for a date without a
        time (year, month or day precision) or a moment the calendar cannot hold here."""
        if isinstance(moment, str):
            if "T" not in moment:
                return None
            try:
                moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
            except ValueError:
                return None
        if moment.tzinfo is None:  # FHIR gives a zone with every time
            return None
        try:
            return moment.astimezone(self.timezone)
        except OverflowError:
            return None

    def _calendar(self, moment: dt.datetime | str, full: bool) -> str:
        """A date of year, month or day precision as the locale writes it, else as given."""
        text = moment if isinstance(moment, str) else ""
        found = PARTIAL_DATE.fullmatch(text)
        if found is None:
            return text
        year, month, day = (int(part) if part else 0 for part in found.groups())
        try:
            if day and full:
                return format_date(dt.date(year, month, day), "full", locale=self._babel)
            if day:
                return format_skeleton("yMMMd", dt.date(year, month, day), locale=self._babel)
            if month:
                return format_skeleton("yMMM", dt.date(year, month, 1), locale=self._babel)
            return format_skeleton("y", dt.date(year, 1, 1), locale=self._babel)
        except ValueError:
            return text

    def date(self, moment: dt.datetime | str) -> str:
        local = self._local(moment)
        if local is None:
            return self._calendar(moment, full=True)
        return self.day(local.date())

    def day(self, calendar_day: dt.date) -> str:
        return _full_day(self.locale, calendar_day)

    def short_date(self, moment: dt.datetime | str) -> str:
        """A date without its weekday, for a chart's axis: "Dec 7, 2026" or "2026年12月7日"."""
        local = self._local(moment)
        if local is None:
            return self._calendar(moment, full=False)
        return _short_day(self.locale, local.date())

    def weekday(self, calendar_day: dt.date) -> str:
        """A short day name and date, for a week's links: "Mon 7" or "周一 7"."""
        return f"{format_date(calendar_day, 'EEE', locale=self._babel)} {calendar_day.day}"

    def time(self, moment: dt.datetime | str) -> str:
        local = self._local(moment)
        if local is None:
            return ""
        # The short time shows neither seconds nor zone.
        return _time_of_day(self.locale, dt.time(local.hour, local.minute))

    def date_time(self, moment: dt.datetime | str) -> str:
        local = self._local(moment)
        if local is None:
            return self._calendar(moment, full=False)
        return format_datetime(local, "medium", locale=self._babel)

    def zone(self, moment: dt.datetime | str) -> str:
        """The zone's name at that moment (standard or summer time), as the locale says it."""
        local = self._local(moment)
        return "" if local is None else format_datetime(local, "zzzz", locale=self._babel)

    def number(self, value: float) -> str:
        return _number(self.locale, value)


@lru_cache(maxsize=len(i18n.LOCALES))
def environment(locale: str) -> Environment:
    """One environment per language, its catalogue installed once (environments are safe to
    share between threads once set up)."""
    env = Environment(
        loader=PackageLoader("medsvc.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # the templates ship with the package: no stat of each on each page
    )
    # Messages are function calls, `_("...")` and `ngettext(...)` (no {% trans %} blocks).
    gettext, ngettext = template_gettext(i18n.translations(locale))
    env.globals.update(_=gettext, gettext=gettext, ngettext=ngettext)
    return env


def formats_for(request: Request) -> Formats:
    """Dates, times and numbers in the person's language and the deployment's time zone."""
    return Formats(i18n.chosen(request), request.app.state.settings.timezone)


def page(
    request: Request,
    template: str,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    locale = i18n.chosen(request)
    context = {
        "lang": i18n.TAGS[locale],
        "locale": locale,
        "formats": values.pop("formats", None) or formats_for(request),
        "path": request.url.path,
        # Where the language links return to: this page, its query included.
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **values,
    }
    html = environment(locale).get_template(template).render(context)
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})
