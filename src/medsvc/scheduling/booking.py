"""What an Appointment write does to the ledger, in the same transaction: seats taken and
given back, the slots' shown statuses, and the appointment's reminders."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from medsvc import clock
from medsvc.fhir import FhirServer, Stored, WriteEvent
from medsvc.scheduling import appointments, holds, ledger, reminders, slots
from medsvc.scheduling.appointments import ACTIVE, BOOKED, HOLDING
from medsvc.scheduling.ledger import SlotUnavailable
from medsvc.security.context import AuthContext


class BookingLedger:
    """The after-write hook on Appointment: the seats it takes and gives back, and the
    follow-on writes of the slots whose shown status that changes."""

    def __init__(self, server: FhirServer, reminder_hours: Sequence[float]):
        self.server = server
        self.reminder_hours = tuple(reminder_hours)

    def after_write(
        self, session: Connection, _ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        resource = event.resource
        status = appointments.status_of(resource)
        wanted = appointments.slot_ids(resource, self.server.base_url) if status in ACTIVE else []
        seats = ledger.seats_of(session, stored.id) if event.current is not None else []
        have = {seat.slot_id for seat in seats}
        touched = sorted(have | set(wanted))
        locked = slots.lock_slots(self.server, session, touched)
        missing = [s for s in wanted if s not in locked]
        if missing:
            raise SlotUnavailable(f"Slot/{missing[0]} is no longer available")
        ledger.give_back(session, stored.id, [s for s in have if s not in wanted])
        patient = appointments.patient_id(resource, self.server.base_url)
        held_until = appointments.hold_end(resource) if status in HOLDING else None
        for slot_id in (s for s in wanted if s not in have):
            self._take(session, slot_id, stored.id, patient, held_until)
        if status in BOOKED and any(seat.held_until is not None for seat in seats):
            ledger.confirm_seats(session, stored.id)
        for slot_id in touched:
            slots.write_shown_status(self.server, session, slot_id)
        self._remind(session, stored.id, status, patient, resource, new=event.current is None)

    def _take(
        self,
        session: Connection,
        slot_id: str,
        appointment_id: str,
        patient: str | None,
        held_until: Any,
    ) -> None:
        """Takes a seat; a full slot first gives back the seats of holds that have ended."""
        try:
            ledger.take_seat(session, slot_id, appointment_id, patient, held_until)
            return
        except SlotUnavailable:
            now = clock.now()
            ended = ledger.expired_holds(session, now, slot_id=slot_id)
            released = [holds.release_hold(self.server, session, a, now) for a in ended]
            if not any(released):
                raise
        ledger.take_seat(session, slot_id, appointment_id, patient, held_until)

    def _remind(
        self,
        session: Connection,
        appointment_id: str,
        status: str | None,
        patient: str | None,
        resource: dict[str, Any] | None,
        *,
        new: bool,
    ) -> None:
        start = appointments.start_of(resource)
        if status == "booked" and patient and start is not None:
            reminders.plan_reminders(
                session, appointment_id, patient, start, clock.now(), self.reminder_hours, new=new
            )
        elif not new:
            reminders.cancel_reminders(session, appointment_id)
