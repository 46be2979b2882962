"""A Slot resource and its ledger row kept in step: what a hospital may change of a slot
with appointments in it, and the status the service shows for the seats taken."""

from typing import Any

from sqlalchemy import Connection

from medsvc.errors import BusinessRule, Conflict
from medsvc.fhir import (
    FhirServer,
    Stored,
    WriteEvent,
    add_version,
    jsonio,
    read_current,
    references,
)
from medsvc.fhir.datetimes import parse_instant
from medsvc.scheduling import ledger
from medsvc.scheduling.ledger import LedgerSlot
from medsvc.security.context import AuthContext, platform_context

# SMART Scheduling Links' capacity extension: how many appointments the slot takes.
CAPACITY_URL = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"
MAX_CAPACITY = 1000
UNAVAILABLE = ("busy-unavailable", "entered-in-error")
LEDGER_CONTEXT = platform_context("booking-ledger")


def capacity_of(resource: dict[str, Any]) -> int:
    values = [e for e in resource.get("extension", []) if e.get("url") == CAPACITY_URL]
    if not values:
        return 1
    value = values[0].get("valueInteger")
    if len(values) > 1 or not isinstance(value, int) or not 1 <= value <= MAX_CAPACITY:
        raise BusinessRule(
            f"The slot-capacity extension takes one valueInteger from 1 to {MAX_CAPACITY}",
            expression="Slot.extension",
        )
    return value


def _schedule_id(resource: dict[str, Any]) -> str:
    # Kept relative: the appointments' proposals read it without the base URL.
    target = references.local_target((resource.get("schedule") or {}).get("reference"), None)
    if target is None or target.type != "Schedule" or target.version is not None:
        raise BusinessRule(
            "Slot.schedule must refer to a Schedule of this server as Schedule/id",
            expression="Slot.schedule",
        )
    return target.id


def _service(resource: dict[str, Any]) -> str | None:
    for concept in resource.get("serviceType", []):
        for coding in concept.get("coding", []):
            if coding.get("code"):
                return f"{coding.get('system', '')}|{coding['code']}"
    return None


def _bookable(status: str, previous: LedgerSlot | None) -> bool:
    """free opens a slot to booking and busy-unavailable or entered-in-error closes it; busy
    and busy-tentative are the statuses the service itself shows, and change nothing."""
    if status == "free":
        return True
    if status in UNAVAILABLE:
        return False
    return previous.bookable if previous else False


def ledger_slot(
    slot_id: str, slot_pk: int, resource: dict[str, Any], previous: LedgerSlot | None
) -> LedgerSlot:
    return LedgerSlot(
        slot_id,
        slot_pk,
        _schedule_id(resource),
        parse_instant(resource["start"]),
        parse_instant(resource["end"]),
        capacity_of(resource),
        previous.taken if previous else 0,
        _bookable(resource["status"], previous),
        _service(resource),
    )


def shown_status(session: Connection, slot: LedgerSlot, written: str) -> str:
    """What a bookable slot shows: free while a seat is left, then busy-tentative while one
    of its seats is only held, then busy (the Argonaut Scheduling state table)."""
    if not slot.bookable:
        return written
    if slot.taken < slot.capacity:
        return "free"
    held = any(seat.held_until is not None for seat in ledger.seats_in(session, slot.slot_id))
    return "busy-tentative" if held else "busy"


def _refuse_moving_taken(new: LedgerSlot, previous: LedgerSlot) -> None:
    if previous.taken == 0:
        return
    taken = f"Slot/{new.slot_id} has {previous.taken} appointment(s) in it; cancel them first"
    if (new.start, new.end, new.schedule_id) != (
        previous.start,
        previous.end,
        previous.schedule_id,
    ):
        raise Conflict(f"{taken}: its time and schedule cannot change")
    if not new.bookable:
        raise Conflict(f"{taken}: it cannot be made unavailable")
    if new.capacity < previous.taken:
        raise Conflict(f"{taken}: its capacity cannot fall below that")


def before_write(session: Connection, _ctx: AuthContext, event: WriteEvent) -> None:
    slot_id = event.current.id if event.current else None
    previous = ledger.read_slots(session, [slot_id]).get(slot_id) if slot_id else None
    if event.resource is None:
        if previous and previous.taken:
            raise Conflict(f"Slot/{slot_id} has appointments in it; cancel them first")
        return
    new = ledger_slot(
        slot_id or "", event.current.pk if event.current else 0, event.resource, previous
    )
    if previous:
        _refuse_moving_taken(new, previous)
    event.resource["status"] = shown_status(session, new, event.resource["status"])


def after_write(session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored) -> None:
    if ctx is LEDGER_CONTEXT:  # the ledger's own write
        return
    if event.resource is None:
        ledger.remove_slot(session, stored.id)
        return
    previous = ledger.read_slots(session, [stored.id]).get(stored.id)
    ledger.put_slot(session, ledger_slot(stored.id, stored.pk, event.resource, previous))


def lock_slots(server: FhirServer, session: Connection, slot_ids: list[str]) -> dict[str, Stored]:
    """The Slot resources, each row locked, in one order so concurrent bookings never
    wait for each other in a circle."""
    locked = {}
    for slot_id in sorted(set(slot_ids)):
        current = read_current(session, server.sealer, "Slot", slot_id, for_update=True)
        if current is not None and not current.deleted:
            locked[slot_id] = current
    return locked


def write_shown_status(server: FhirServer, session: Connection, slot_id: str) -> None:
    """Writes the slot's next version when the seats taken change what it shows: the
    ledger's own follow-on write of a Slot, which runs the Slot's after-write hooks as a
    client's write of a Slot does (registry.run_after_write)."""
    current = read_current(session, server.sealer, "Slot", slot_id, for_update=True)
    slot = ledger.read_slots(session, [slot_id]).get(slot_id)
    if slot is None or current is None or current.content is None:
        return
    resource = jsonio.loads_stored(current.content)
    status = shown_status(session, slot, resource["status"])
    if status == resource["status"]:
        return
    # Only the status changes, to a code of its value set: the resource was validated and
    # checked when it was written, so the new version is stored as it is.
    definition = server.definition("Slot", "update")
    resource["status"] = status
    stored = add_version(
        session, server.sealer, definition, current, resource, "PUT", server.base_url
    )
    event = WriteEvent("update", "Slot", resource, current)
    server.registry.run_after_write(session, LEDGER_CONTEXT, event, stored)
