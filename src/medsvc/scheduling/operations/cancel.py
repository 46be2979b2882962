"""Appointment/[id]/$cancel: cancels a held or booked appointment and frees its slot in the
same transaction (a citizen until the cut-off before the start, a hospital with a reason)."""

from typing import Any

from medsvc.errors import BusinessRule
from medsvc.fhir import interactions, jsonio, references
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.operations.parameters import read_inputs
from medsvc.fhir.registry import Operation, OperationCall


def _reason(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    return {"text": str(value)}


def cancel_appointment(call: OperationCall, appointment_id: str, reason: Any) -> Result:
    current = interactions.visible_current(
        call.server, call.session, call.ctx, "Appointment", appointment_id
    )
    if current.content is None:
        raise BusinessRule(f"Appointment/{appointment_id} was deleted")
    appointment = jsonio.loads_stored(current.content)
    if appointment.get("status") == "cancelled":
        return Result(200, current)
    appointment["status"] = "cancelled"
    given = _reason(reason)
    if given is not None:
        appointment["cancelationReason"] = given
    for participant in appointment.get("participant", []):
        actor = (participant.get("actor") or {}).get("reference")
        target = references.local_target(actor, call.server.base_url)
        if target is not None and target.type == "Patient":
            participant["status"] = "declined"
    return interactions.update(
        call.server, call.session, call.ctx, "Appointment", appointment_id, appointment
    )


def cancel(call: OperationCall) -> Result:
    assert call.resource_id is not None
    reason = read_inputs(call).one("reason", "cancelation-reason", "comment")
    return cancel_appointment(call, call.resource_id, reason)


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "cancel",
        frozenset({"instance"}),
        cancel,
        definitions.operations["cancel"],
        affects_state=True,
        types=frozenset({"Appointment"}),
    )
