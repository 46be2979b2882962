"""A citizen's appointments: the coming ones and the past ones, and moving a booked one to
another of the same doctor's free times (the old one cancelled in the same transaction)."""

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc import clock
from medsvc.web import directory, display, forms, offers
from medsvc.web.errors import PageError
from medsvc.web.pages.book import (
    appointment_of,
    booked,
    diagnostics,
    doctor_of,
    operation,
    see,
    taken,
)
from medsvc.web.pages.home import upcoming
from medsvc.web.person import Person, signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import formats_for, page

Resource = dict[str, Any]
PAST = 20  # the latest past appointments listed
# What a past appointment can be: attended, missed, cancelled, or never marked.
PAST_STATUSES = "fulfilled,noshow,cancelled,arrived,checked-in,booked"


async def past(person: Person) -> list[display.AppointmentRow]:
    params = {
        "patient": person.fhir_user,
        "date": f"lt{display.instant(clock.now())}",
        "status": PAST_STATUSES,
        "_sort": "-date",
        "_include": "Appointment:actor",
        "_count": str(PAST),
    }
    bundle = await fhir_json(person, "Appointment", params)
    others = display.included(bundle)
    return [display.appointment_row(a, others) for a in display.matches(bundle)]


async def appointments(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    coming, gone = await upcoming(person), await past(person)
    return page(request, "appointments.html", person=person, upcoming=coming, past=gone)


def _appointment_id(request: Request) -> str:
    appointment_id = str(request.path_params["appointment_id"])
    if not display.FHIR_ID.fullmatch(appointment_id):
        raise PageError(404, "not-found")
    return appointment_id


async def _booked_one(person: Person, appointment_id: str) -> tuple[Resource, dict[str, Resource]]:
    """The person's appointment, if it is booked: only a booked one is moved (the API would
    take a cancelled one's id and book the new time as a booking of its own)."""
    appointment, others = await appointment_of(person, appointment_id)
    if appointment.get("status") != "booked":
        raise PageError(404, "not-found")
    return appointment, others


async def new_times(request: Request) -> Response:
    """The doctor's free times, each a button that moves the appointment there."""
    person = await signed_in_as(request, "Patient")
    appointment_id = _appointment_id(request)
    appointment, others = await _booked_one(person, appointment_id)
    practitioner = doctor_of(appointment)
    start = clock.now()
    end = start + timedelta(days=directory.WINDOW_DAYS)
    times = await directory.find(person, start, end, practitioner=practitioner)
    formats = formats_for(request)
    return page(
        request,
        "reschedule.html",
        person=person,
        row=display.appointment_row(appointment, others),
        days=offers.offered(times, formats, moving=True),
        practitioner=practitioner,
        formats=formats,
    )


async def move(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    appointment_id = _appointment_id(request)
    kind, _, slot_id = form.get("slot", "").partition("/")
    if kind != "Slot" or not display.FHIR_ID.fullmatch(slot_id):
        raise PageError(404, "not-found")
    await _booked_one(person, appointment_id)
    status, body = await operation(
        person,
        "Appointment/$book",
        slot=f"Slot/{slot_id}",
        cancelled_appt_id=f"Appointment/{appointment_id}",
    )
    practitioner = form.get("practitioner", "")
    if status == 409:
        practitioner = practitioner if practitioner.startswith("Practitioner/") else ""
        return await taken(request, person, practitioner, replaces=appointment_id)
    if status == 422:
        return page(request, "not_allowed.html", 422, person=person, outcome=diagnostics(body))
    made = booked(body)
    if status in (403, 404, 410) or (status == 200 and not made.get("id")):
        raise PageError(404, "not-found")
    if status != 200:
        raise PageError(503, "unavailable")
    return see(f"/app/appointments/{made['id']}")
