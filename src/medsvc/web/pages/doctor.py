"""A doctor's pages: their day (and the week around it) of appointments with each patient's
name, status and reason, and marking a visit arrived, fulfilled or no-show."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from medsvc import clock
from medsvc.web import display, forms
from medsvc.web.errors import PageError
from medsvc.web.person import Person, signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import page

DAY_LIMIT = 200  # a day's appointments for one doctor: far more than a clinic holds
VERSION = re.compile(r"[0-9]{1,18}")
YEARS_AROUND = 10  # how far from today a doctor's day or week may be asked for
LARGEST_PAGE = 1000  # the API's largest page (MEDSVC_MAX_PAGE_SIZE's default)
# What a doctor marks, from which status (Appointment.status, R4B appointmentstatus).
MARKS = {
    "arrived": ("booked",),
    "fulfilled": ("booked", "arrived", "checked-in"),
    "noshow": ("booked",),
}


def _day(request: Request, zone: ZoneInfo) -> date:
    """The day asked for (today by default), within YEARS_AROUND years of today: a day far
    off is no one's schedule, and the calendar's ends overflow a week's arithmetic."""
    today = clock.now().astimezone(zone).date()
    asked = request.query_params.get("date", "")
    try:
        day = date.fromisoformat(asked) if asked else today
    except ValueError as error:
        raise PageError(404, "not-found") from error
    if abs(day.year - today.year) > YEARS_AROUND:
        raise PageError(404, "not-found")
    return day


def _bounds(first: date, days: int, zone: ZoneInfo) -> tuple[str, str]:
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(first + timedelta(days=days), time(0), zone).astimezone(UTC)
    return display.instant(start), display.instant(end)


async def _appointments(
    person: Person, first: date, days: int, zone: ZoneInfo
) -> list[display.AppointmentRow]:
    """The doctor's appointments on the local days from first, in time order."""
    start, end = _bounds(first, days, zone)
    params: dict[str, str | list[str]] = {
        "practitioner": person.fhir_user,
        "date": [f"ge{start}", f"lt{end}"],
        "_include": "Appointment:patient",
        "_sort": "date",
        "_count": str(min(DAY_LIMIT * days, LARGEST_PAGE)),
    }
    bundle = await fhir_json(person, "Appointment", params)
    others = display.included(bundle)
    return [display.appointment_row(a, others) for a in display.matches(bundle)]


def _week_of(day: date) -> list[date]:
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=i) for i in range(7)]


async def doctor_day(request: Request, person: Person | None = None) -> Response:
    person = person or await signed_in_as(request, "Practitioner")
    zone = ZoneInfo(request.app.state.settings.timezone)
    day = _day(request, zone)
    rows = await _appointments(person, day, 1, zone)
    return page(
        request,
        "doctor_day.html",
        person=person,
        day=day,
        rows=rows,
        week=_week_of(day),
        marks=MARKS,
    )


async def doctor_week(request: Request) -> Response:
    """The week around a day (Monday to Sunday), its appointments by day."""
    person = await signed_in_as(request, "Practitioner")
    zone = ZoneInfo(request.app.state.settings.timezone)
    week = _week_of(_day(request, zone))
    rows = await _appointments(person, week[0], 7, zone)
    by_day: dict[date, list[display.AppointmentRow]] = {d: [] for d in week}
    for row in rows:
        start = display.parse_instant(row.start)
        if start is not None and start.astimezone(zone).date() in by_day:
            by_day[start.astimezone(zone).date()].append(row)
    return page(
        request,
        "doctor_week.html",
        person=person,
        week=week,
        by_day=by_day,
        previous=week[0] - timedelta(days=7),
        following=week[0] + timedelta(days=7),
    )


async def mark(request: Request) -> Response:
    """A visit marked from the day's page: a JSON Patch of the status, as the doctor."""
    person = await signed_in_as(request, "Practitioner")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    appointment_id = str(request.path_params["appointment_id"])
    status = form.get("status", "")
    if status not in MARKS or not display.FHIR_ID.fullmatch(appointment_id):
        raise PageError(404, "not-found")
    patch = [{"op": "replace", "path": "/status", "value": status}]
    headers = {"Content-Type": "application/json-patch+json"}
    version = form.get("version", "")
    if VERSION.fullmatch(version):  # the visit as the doctor saw it, or 412
        headers["If-Match"] = f'W/"{version}"'
    response = await person.api.fhir(
        "PATCH", f"Appointment/{appointment_id}", person.token, headers=headers, json=patch
    )
    if response.status_code in (403, 404, 410):
        raise PageError(404, "not-found")
    if response.status_code != 200:
        raise PageError(409, "not-changed")
    day = form.get("date", "")
    back = f"/app/day?date={day}" if _is_date(day) else "/app/day"
    return RedirectResponse(back, status_code=303, headers={"Cache-Control": "no-store"})


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
