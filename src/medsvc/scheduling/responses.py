"""AppointmentResponse: a participant accepts or declines an appointment. The answer is
copied to the participant on the Appointment; a required participant who declines cancels
it, which frees its slot."""

from typing import Any

from sqlalchemy import Connection

from medsvc.errors import BusinessRule, Forbidden
from medsvc.fhir import (
    FhirServer,
    Stored,
    WriteEvent,
    interactions,
    jsonio,
    read_current,
    references,
)
from medsvc.scheduling.appointments import ACTIVE
from medsvc.scheduling.slots import LEDGER_CONTEXT
from medsvc.security.context import AuthContext

DECLINED_REASON = {"text": "Declined by a participant"}


def _reference(resource: dict[str, Any], element: str, base_url: str) -> str:
    """A local resource the element refers to as Type/id (however it was spelled); anything
    else as written."""
    reference = (resource.get(element) or {}).get("reference")
    target = references.local_target(reference, base_url)
    return f"{target.type}/{target.id}" if target else str(reference or "")


def _appointment_id(resource: dict[str, Any], base_url: str) -> str | None:
    reference = (resource.get("appointment") or {}).get("reference")
    target = references.local_target(reference, base_url)
    return target.id if target is not None and target.type == "Appointment" else None


def _may_answer_for(ctx: AuthContext, actor: str) -> bool:
    """People answer for themselves; hospital systems for their staff and places, never for
    a patient."""
    if ctx.unrestricted:
        return True
    if ctx.patient or ctx.practitioner:
        return actor in (ctx.patient, ctx.practitioner)
    return not actor.startswith("Patient/")


def _answer(appointment: dict[str, Any], response: dict[str, Any], base_url: str) -> bool:
    """Copies the answer to the participant; a required one who declines cancels."""
    actor = _reference(response, "actor", base_url)
    answered = False
    for participant in appointment.get("participant", []):
        if _reference(participant, "actor", base_url) != actor:
            continue
        participant["status"] = response["participantStatus"]
        answered = True
        required = participant.get("required", "required") == "required"
        declined = response["participantStatus"] == "declined"
        if declined and required and appointment["status"] in ACTIVE:
            appointment["status"] = "cancelled"
            appointment["cancelationReason"] = DECLINED_REASON
    return answered


class ResponseHook:
    """The hooks on AppointmentResponse: who may answer, and the answer copied to the
    Appointment (a write of that Appointment, with its own hooks)."""

    def __init__(self, server: FhirServer):
        self.server = server

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if event.resource is None:
            return
        if ctx.unrestricted:  # the platform may record any answer, to any appointment
            return
        base_url = self.server.base_url
        actor = _reference(event.resource, "actor", base_url)
        if not actor or not _may_answer_for(ctx, actor):
            raise Forbidden("A participant answers for themselves only")
        appointment = self._appointment(session, ctx, event.resource)
        actors = [_reference(p, "actor", base_url) for p in appointment.get("participant", [])]
        if actor not in actors:
            raise BusinessRule(
                f"{actor} is not a participant of the appointment", expression="actor"
            )

    def _appointment(
        self, session: Connection, ctx: AuthContext, response: dict[str, Any]
    ) -> dict[str, Any]:
        appointment_id = _appointment_id(response, self.server.base_url)
        if appointment_id is None:
            raise BusinessRule("appointment must be a reference such as Appointment/123")
        current = interactions.visible_current(
            self.server, session, ctx, "Appointment", appointment_id
        )
        if current.content is None:
            raise BusinessRule(f"Appointment/{appointment_id} was deleted")
        appointment: dict[str, Any] = jsonio.loads_stored(current.content)
        return appointment

    def after_write(
        self, session: Connection, _ctx: AuthContext, event: WriteEvent, _stored: Stored
    ) -> None:
        if event.resource is None:
            return
        appointment_id = _appointment_id(event.resource, self.server.base_url)
        if appointment_id is None:
            return
        current = read_current(
            session, self.server.sealer, "Appointment", appointment_id, for_update=True
        )
        if current is None or current.content is None:
            return
        appointment = jsonio.loads_stored(current.content)
        if not _answer(appointment, event.resource, self.server.base_url):
            return
        definition = self.server.definition("Appointment", "update")
        interactions.write_version(
            self.server, session, LEDGER_CONTEXT, definition, current, appointment, None, "PUT"
        )
