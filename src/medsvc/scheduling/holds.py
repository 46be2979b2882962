"""Holds that ended: their appointments are cancelled and their seats given back, by a job
and, for one slot, by a booking that finds the slot full."""

from datetime import datetime

from sqlalchemy import Connection, select

from medsvc.errors import Conflict
from medsvc.fhir import FhirServer, interactions, jsonio, read_current
from medsvc.fhir.index import RESOURCE
from medsvc.scheduling import ledger
from medsvc.scheduling.appointments import HOLDING
from medsvc.scheduling.slots import LEDGER_CONTEXT

R = RESOURCE.c
EXPIRED_REASON = {"text": "The hold ended before the appointment was booked"}


class HoldEnded(Conflict):
    """A held appointment was asked to be booked after its hold ended and was released."""


def _lock_if_free(session: Connection, appointment_id: str) -> bool:
    """Locks the appointment's row unless another transaction holds it: that one is
    changing the appointment (booking it, say), so it is not ours to release."""
    query = (
        select(R.pk)
        .where(R.resource_type == "Appointment", R.id == appointment_id)
        .with_for_update(skip_locked=True)
    )
    return session.execute(query).first() is not None


def release_hold(
    server: FhirServer, session: Connection, appointment_id: str, now: datetime
) -> bool:
    """Cancels a held appointment whose hold has ended; False when there was none to end."""
    if not _lock_if_free(session, appointment_id):
        return False
    seats = ledger.seats_of(session, appointment_id)
    if not any(s.held_until is not None and s.held_until <= now for s in seats):
        return False
    current = read_current(session, server.sealer, "Appointment", appointment_id)
    if current is None or current.content is None:
        ledger.give_back(session, appointment_id, [s.slot_id for s in seats])
        return True
    resource = jsonio.loads_stored(current.content)
    if resource.get("status") not in HOLDING:
        return False
    resource["status"] = "cancelled"
    resource["cancelationReason"] = EXPIRED_REASON
    definition = server.definition("Appointment", "update")
    interactions.write_version(
        server, session, LEDGER_CONTEXT, definition, current, resource, None, "PUT"
    )
    return True


BATCH = 100


def expire_holds(server: FhirServer, session: Connection, now: datetime, batch: int = BATCH) -> int:
    """The job: releases up to `batch` ended holds; returns how many it released."""
    released = 0
    for appointment_id in ledger.expired_holds(session, now, limit=batch):
        released += release_hold(server, session, appointment_id, now)
    return released
