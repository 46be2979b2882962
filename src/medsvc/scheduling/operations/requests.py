"""The Appointment a $hold or $book asks for: an existing one by id, a proposed one as sent
(from $find), or one built from slot references; and the Bundle they answer with."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, select

from medsvc.errors import Conflict, Forbidden, Invalid, NotFound
from medsvc.fhir import interactions, jsonio, references, store
from medsvc.fhir.answers import Result
from medsvc.fhir.datetimes import format_instant, parse_instant
from medsvc.fhir.operations.parameters import Inputs, local_id
from medsvc.fhir.references import BadReference
from medsvc.fhir.registry import OperationCall
from medsvc.scheduling import appointments, ledger
from medsvc.scheduling.holds import EXPIRED_REASON, HoldEnded

APPOINTMENT_ID = ("appt-id", "appointment-reference", "appointment-id")
APPOINTMENT = ("appt-resource", "appointment")
PATIENT = ("patient-id", "patient", "patient-reference")
# What a participant says of an appointment, by the status the operation gives it.
PARTICIPATION = {"pending": "tentative", "booked": "accepted"}
# The statuses an appointment may have when an operation holds or books it again: a
# booking is never turned back into a hold, nor a cancelled or attended one revived.
TAKEN_FROM = {"pending": ("proposed", "pending"), "booked": ("proposed", "pending", "booked")}


def _patient(call: OperationCall, inputs: Inputs) -> str | None:
    given = inputs.one(*PATIENT)
    if call.ctx.patient:
        # A citizen books for themselves; for someone else only once family proxies exist.
        if given is not None and _own_patient(call, given) != call.ctx.patient:
            raise Forbidden("A citizen books for themselves: patient-id must be their Patient")
        return call.ctx.patient
    if given is None:
        return None
    patient = _named_patient(call, given)
    if patient is None:
        raise Invalid("patient-id is a Patient id or a reference such as Patient/123")
    return patient


def _named_patient(call: OperationCall, given: Any) -> str | None:
    """Patient/id for a Patient's id or reference; None for anything else; 422 for a
    spelling no reference may have."""
    if isinstance(given, str) and references.ID_PATTERN.fullmatch(given):
        return f"Patient/{given}"
    patient_id = local_id(given, "Patient", call.server.base_url, PATIENT[0])
    return f"Patient/{patient_id}" if patient_id else None


def _own_patient(call: OperationCall, given: Any) -> str | None:
    """The Patient a citizen's patient-id names, or None: any other spelling is refused alike."""
    try:
        return _named_patient(call, given)
    except BadReference:
        return None


# Built once: $find reads the slots of a whole page, and their schedules, with it.
_CONTENTS = select(store.RESOURCE.c.id, store.RESOURCE.c.content).where(
    store.RESOURCE.c.resource_type == bindparam("resource_type"),
    store.RESOURCE.c.id.in_(bindparam("ids", expanding=True)),
    store.RESOURCE.c.deleted.is_(False),
)


def read_contents(
    session: Connection, resource_type: str, ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The current content of these resources by id, in one statement."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    rows = session.execute(_CONTENTS, {"resource_type": resource_type, "ids": wanted}).all()
    return {row.id: jsonio.loads_stored(row.content) for row in rows}


def _schedule_of(slot: dict[str, Any]) -> str:
    # Slot.schedule is stored as Schedule/id only (slots.py)
    target = references.local_target((slot.get("schedule") or {}).get("reference"), None)
    return target.id if target is not None and target.type == "Schedule" else ""


def proposal(
    slot_ids: list[str],
    slots: dict[str, dict[str, Any]],
    schedules: dict[str, dict[str, Any]],
    patient: str | None,
) -> dict[str, Any]:
    """A proposed Appointment of the slots, with their schedules' actors as participants."""
    actors = [patient] if patient else []
    for slot_id in slot_ids:
        schedule = schedules.get(_schedule_of(slots.get(slot_id, {}))) or {}
        for actor in schedule.get("actor", []):
            reference = actor.get("reference")
            if reference and reference not in actors:
                actors.append(reference)
    appointment: dict[str, Any] = {
        "resourceType": "Appointment",
        "status": "proposed",
        "slot": [{"reference": f"Slot/{s}"} for s in slot_ids],
        "participant": [{"actor": {"reference": a}, "status": "needs-action"} for a in actors],
    }
    first = slots.get(slot_ids[0], {})
    for element in ("serviceCategory", "serviceType", "specialty", "appointmentType"):
        if first.get(element):
            appointment[element] = first[element]
    return appointment


def from_slots(session: Connection, slot_ids: list[str], patient: str | None) -> dict[str, Any]:
    slots = read_contents(session, "Slot", slot_ids)
    if missing := [s for s in slot_ids if s not in slots]:
        raise NotFound(f"Slot/{missing[0]} does not exist; choose a time from $find")
    schedules = read_contents(session, "Schedule", map(_schedule_of, slots.values()))
    appointment = proposal(slot_ids, slots, schedules, patient)
    # The time of the slots just read, every one of them found.
    appointment["start"] = format_instant(min(parse_instant(s["start"]) for s in slots.values()))
    appointment["end"] = format_instant(max(parse_instant(s["end"]) for s in slots.values()))
    return appointment


def _with_patient(
    appointment: dict[str, Any], patient: str | None, base_url: str
) -> dict[str, Any]:
    participants = appointment.setdefault("participant", [])
    named = [
        references.local_target((p.get("actor") or {}).get("reference"), base_url)
        for p in participants
    ]
    if patient and not any(t and f"{t.type}/{t.id}" == patient for t in named):
        participants.insert(0, {"actor": {"reference": patient}})
    return appointment


def _prepared(
    session: Connection, appointment: dict[str, Any], status: str, base_url: str
) -> dict[str, Any]:
    """The appointment in the operation's status, with its participants' answers, and the
    time of its slots (an appointment in a slot is at the slot's time)."""
    appointment["status"] = status
    for participant in appointment.get("participant", []):
        participant["status"] = PARTICIPATION[status]
    if appointment.get("start"):
        return appointment
    found = ledger.read_slots(session, appointments.slot_ids(appointment, base_url))
    if found:
        appointment["start"] = format_instant(min(s.start for s in found.values()))
        appointment["end"] = format_instant(max(s.end for s in found.values()))
    return appointment


def take(call: OperationCall, inputs: Inputs, status: str) -> Result:
    """Holds (status pending) or books (booked) what the inputs name."""
    patient = _patient(call, inputs)
    appointment_ref = inputs.one(*APPOINTMENT_ID)
    if appointment_ref is not None:
        return _existing(call, appointment_ref, patient, status)
    resource = inputs.one(*APPOINTMENT)
    if resource is not None:
        appointment = _proposed(resource)
    else:
        slot_ids = [_slot_id(call, s) for s in inputs.all("slot", "slot-id")]
        if not slot_ids:
            raise Invalid("Name the appointment (appt-id), send it (appt-resource), or its slot")
        appointment = from_slots(call.session, slot_ids, patient)
    base_url = call.server.base_url
    appointment = _prepared(
        call.session, _with_patient(appointment, patient, base_url), status, base_url
    )
    return interactions.create(call.server, call.session, call.ctx, "Appointment", appointment)


def _existing(call: OperationCall, reference: Any, patient: str | None, status: str) -> Result:
    appointment_id = local_id(
        reference, "Appointment", call.server.base_url, APPOINTMENT_ID[0]
    ) or str(reference)
    current = interactions.visible_current(
        call.server, call.session, call.ctx, "Appointment", appointment_id
    )
    if current.content is None:
        raise Invalid(f"Appointment/{appointment_id} was deleted")
    appointment = jsonio.loads_stored(current.content)
    _refuse_unless_takeable(f"Appointment/{appointment_id}", appointment, status)
    appointment = _with_patient(appointment, patient, call.server.base_url)
    appointment = _prepared(call.session, appointment, status, call.server.base_url)
    return interactions.update(
        call.server, call.session, call.ctx, "Appointment", appointment_id, appointment
    )


def _refuse_unless_takeable(name: str, appointment: dict[str, Any], status: str) -> None:
    current = appointments.status_of(appointment)
    if current in TAKEN_FROM[status]:
        return
    if appointment.get("cancelationReason") == EXPIRED_REASON:
        raise HoldEnded(f"The hold on {name} has ended; choose a time from $find and hold it again")
    verb = "held" if status == "pending" else "booked"
    raise Conflict(f"{name} is {current} and cannot be {verb} again")


def _proposed(resource: Any) -> dict[str, Any]:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
        raise Invalid("appt-resource is an Appointment (a proposed one from $find)")
    for element in ("participant", "slot"):  # read here before the Appointment is validated
        _require_objects(resource.get(element, []), f"Appointment.{element}")
    for index, participant in enumerate(resource.get("participant", [])):
        if not isinstance(participant.get("actor", {}), dict):
            where = f"Appointment.participant[{index}].actor"
            raise Invalid(f"{where} must be an object", expression=where)
    return {k: v for k, v in resource.items() if k not in ("id", "meta")}


def _require_objects(items: Any, where: str) -> None:
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise Invalid(f"{where} must be an array of objects", expression=where)


def _slot_id(call: OperationCall, reference: Any) -> str:
    slot_id = local_id(reference, "Slot", call.server.base_url, "slot")
    if slot_id is None:
        raise Invalid(f"'{reference}' is not a Slot reference such as Slot/123")
    return slot_id


def bundle(call: OperationCall, results: list[Result]) -> Result:
    """The operation's answer: a Bundle with the appointments it wrote (ITI-117)."""
    entries = []
    for result in results:
        stored = result.stored
        assert stored is not None
        assert stored.content is not None
        entries.append(
            {
                "fullUrl": stored.url(call.server.base_url),
                "resource": jsonio.loads_stored(stored.content),
                "search": {"mode": "match"},
            }
        )
    answer = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": entries,
    }
    return Result(200, body=jsonio.dumps(answer))
