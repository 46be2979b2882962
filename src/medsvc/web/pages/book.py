"""Booking: holding a free time (its seat kept for the hold's minutes, the countdown shown),
confirming it, and a booking lost to someone faster answered with the doctor's next free
times; an appointment's page with its cancellation window, and cancelling."""

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from medsvc import clock
from medsvc.web import directory, display, forms, offers
from medsvc.web.errors import PageError
from medsvc.web.person import Person, signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import formats_for, page

HOLD_EXPIRES = "urn:medsvc:extension:hold-expires"
NEXT_OFFERED = 6  # free times offered when a time was taken


def _parameters(**values: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": k.replace("_", "-"), "valueString": v} for k, v in values.items()],
    }


def see(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


async def operation(person: Person, path: str, **values: str) -> tuple[int, dict[str, Any]]:
    response = await person.api.fhir(
        "POST",
        path,
        person.token,
        headers={"Content-Type": "application/fhir+json"},
        json=_parameters(**values),
    )
    body = response.json() if response.headers.get("content-type", "").find("json") >= 0 else {}
    return response.status_code, body


def booked(body: dict[str, Any]) -> dict[str, Any]:
    found = display.matches(body)
    return found[0] if found else {}


async def taken(
    request: Request, person: Person, practitioner: str, replaces: str = ""
) -> Response:
    """409: the time went to someone else; the doctor's next free times instead (each moving
    the appointment replaces to it, when rescheduling)."""
    start = clock.now()
    times = (
        await directory.find(
            person, start, start + timedelta(days=directory.WINDOW_DAYS), practitioner=practitioner
        )
        if practitioner
        else []
    )
    formats = formats_for(request)
    return page(
        request,
        "taken.html",
        409,
        person=person,
        days=offers.offered(times[:NEXT_OFFERED], formats, moving=bool(replaces)),
        formats=formats,
        practitioner=practitioner,
        replaces=replaces,
    )


async def hold(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    slot, practitioner = form.get("slot", ""), form.get("practitioner", "")
    kind, _, slot_id = slot.partition("/")
    if kind != "Slot" or not display.FHIR_ID.fullmatch(slot_id):
        raise PageError(404, "not-found")
    if practitioner and not practitioner.startswith("Practitioner/"):
        practitioner = ""
    status, body = await operation(person, "Appointment/$hold", slot=slot)
    if status == 409:
        return await taken(request, person, practitioner)
    if status == 422:
        return page(request, "not_allowed.html", 422, person=person, outcome=diagnostics(body))
    held = booked(body)
    if status != 200 or not held.get("id"):
        raise PageError(
            404 if status == 404 else 503, "not-found" if status == 404 else "unavailable"
        )
    return see(f"/app/appointments/{held['id']}")


def diagnostics(outcome: dict[str, Any]) -> str:
    issues = outcome.get("issue") or [{}]
    return str((issues[0] or {}).get("diagnostics", ""))


async def appointment_of(
    person: Person, appointment_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    bundle = await fhir_json(
        person, "Appointment", {"_id": appointment_id, "_include": "Appointment:actor"}
    )
    found = display.matches(bundle)
    if not found:
        raise PageError(404, "not-found")
    return found[0], display.included(bundle)


def _hold_ends(appointment: dict[str, Any]) -> str:
    for extension in appointment.get("extension") or []:
        if (extension or {}).get("url") == HOLD_EXPIRES:
            return str(extension.get("valueInstant", ""))
    return ""


async def appointment_page(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    appointment_id = str(request.path_params["appointment_id"])
    if not display.FHIR_ID.fullmatch(appointment_id):
        raise PageError(404, "not-found")
    appointment, others = await appointment_of(person, appointment_id)
    row = display.appointment_row(appointment, others)
    cutoff = timedelta(hours=request.app.state.settings.citizen_cancel_cutoff_hours)
    start = display.parse_instant(row.start)
    cancel_until = start - cutoff if start else None
    return page(
        request,
        "appointment.html",
        person=person,
        row=row,
        hold_ends=_hold_ends(appointment),
        cancel_until=display.instant(cancel_until) if cancel_until else "",
        cancellable=bool(row.status == "booked" and cancel_until and cancel_until > clock.now()),
        practitioner=doctor_of(appointment),
    )


def doctor_of(appointment: dict[str, Any]) -> str:
    for participant in appointment.get("participant") or []:
        reference = str(((participant or {}).get("actor") or {}).get("reference", ""))
        if reference.startswith("Practitioner/"):
            return reference
    return ""


async def _act(request: Request, action: str) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    appointment_id = str(request.path_params["appointment_id"])
    if not display.FHIR_ID.fullmatch(appointment_id):
        raise PageError(404, "not-found")
    if action == "book":
        status, body = await operation(
            person, "Appointment/$book", appt_id=f"Appointment/{appointment_id}"
        )
    else:
        reason = form.get("reason", "")[:200] or "Cancelled by the patient in the app"
        status, body = await operation(
            person, f"Appointment/{appointment_id}/$cancel", reason=reason
        )
    if status == 409:
        return await taken(request, person, form.get("practitioner", ""))
    if status == 422:
        return page(request, "not_allowed.html", 422, person=person, outcome=diagnostics(body))
    if status in (403, 404, 410):
        raise PageError(404, "not-found")
    if status != 200:
        raise PageError(503, "unavailable")
    return see(f"/app/appointments/{appointment_id}")


async def confirm(request: Request) -> Response:
    return await _act(request, "book")


async def cancel(request: Request) -> Response:
    return await _act(request, "cancel")
