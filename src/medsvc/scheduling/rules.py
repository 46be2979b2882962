"""The booking rules checked before an Appointment is written: who may set which status,
what a citizen may change, and the limits on a citizen's bookings (docs/scheduling.md)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from medsvc import clock
from medsvc.config import Settings
from medsvc.errors import BusinessRule, Forbidden, Invalid
from medsvc.fhir import WriteEvent, jsonio, read_current
from medsvc.fhir.datetimes import format_instant, parse_instant
from medsvc.scheduling import appointments, ledger
from medsvc.scheduling.appointments import ACTIVE, BOOKED, HOLDING, HOSPITAL_SIDE
from medsvc.scheduling.ledger import LedgerSlot, SlotUnavailable
from medsvc.security.context import AuthContext

CITIZEN_STATUSES = frozenset({"proposed", "waitlist", "pending", "booked", "cancelled"})


@dataclass(frozen=True)
class Limits:
    hold: timedelta
    horizon: timedelta
    per_service: int
    cancel_cutoff: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            timedelta(minutes=settings.hold_minutes),
            timedelta(days=settings.booking_horizon_days),
            settings.max_active_bookings_per_service,
            timedelta(hours=settings.citizen_cancel_cutoff_hours),
        )


def _is_citizen(ctx: AuthContext) -> bool:
    return ctx.patient is not None and not ctx.unrestricted


class BookingRules:
    """The before-write hook on Appointment."""

    def __init__(self, limits: Limits, base_url: str):
        self.limits = limits
        self.base_url = base_url

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        content = event.current.content if event.current else None
        before = jsonio.loads_stored(content) if content is not None else None
        if event.resource is None:
            if _is_citizen(ctx) and appointments.status_of(before) in ACTIVE:
                raise Forbidden("An appointment is cancelled, not deleted")
            return
        now = clock.now()
        if _is_citizen(ctx):
            self._citizen_change(before, event.resource, now)
        elif not ctx.unrestricted:
            _hospital_change(before, event.resource)
        self._slots(session, ctx, before, event.resource, now)

    def _citizen_change(
        self, before: dict[str, Any] | None, after: dict[str, Any], now: datetime
    ) -> None:
        status, was = after["status"], appointments.status_of(before)
        if status in HOSPITAL_SIDE or status not in CITIZEN_STATUSES:
            raise Forbidden(f"Only the hospital sets an appointment's status to '{status}'")
        if before is None or was not in ACTIVE | {"cancelled"}:
            return
        if was == "cancelled" and status != "cancelled":
            raise BusinessRule("A cancelled appointment is not reopened; book again")
        if was in BOOKED and status == "pending":
            raise BusinessRule("A booked appointment cannot go back to a hold")
        if appointments.booking_changed(before, after):
            raise BusinessRule(
                "A booked time is changed by booking the new one with Appointment/$book, "
                "naming this appointment in cancelled-appt-id"
            )
        start = appointments.start_of(before)
        cutoff = self.limits.cancel_cutoff
        if status == "cancelled" and was in BOOKED and start and now > start - cutoff:
            hours = self.limits.cancel_cutoff.total_seconds() / 3600
            raise BusinessRule(
                f"Appointments can be cancelled here until {hours:g} hours before they "
                "start; please contact the hospital"
            )

    def _slots(
        self,
        session: Connection,
        ctx: AuthContext,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        now: datetime,
    ) -> None:
        """Fills start and end from the slots an active appointment takes, checks a citizen's
        new seats, and shows when a hold ends."""
        status = after["status"]
        was_held = appointments.status_of(before) in HOLDING
        held_until = appointments.hold_end(before) or now + self.limits.hold
        appointments.set_hold_expiry(after, held_until if status in HOLDING else None)
        if was_held and status in HOLDING:
            return
        wanted = appointments.slot_ids(after, self.base_url) if status in ACTIVE else []
        if not wanted:
            if status in ACTIVE and _is_citizen(ctx):
                raise BusinessRule("A hold or booking names the Slot it takes", expression="slot")
            return
        found = ledger.read_slots(session, wanted)
        unknown = [s for s in wanted if s not in found]
        if unknown:
            raise SlotUnavailable(f"Slot/{unknown[0]} is not a bookable slot of this service")
        taken = [found[s] for s in wanted]
        _fill_time(after, taken)
        if _is_citizen(ctx):
            self._citizen_booking(session, ctx, before, after, taken, now)

    def _citizen_booking(
        self,
        session: Connection,
        ctx: AuthContext,
        before: dict[str, Any] | None,
        after: dict[str, Any],
        taken: list[LedgerSlot],
        now: datetime,
    ) -> None:
        patient = str(ctx.patient).split("/", 1)[1]
        appointment_id = str(after.get("id") or "")
        already = set(appointments.slot_ids(before, self.base_url)) if before else set()
        new = [slot for slot in taken if slot.slot_id not in already]
        if not new:
            return
        _lock_patient(session, patient)
        start, end = min(s.start for s in taken), max(s.end for s in taken)
        if start <= now:
            raise BusinessRule("A slot that has started can no longer be booked")
        if start > now + self.limits.horizon:
            raise BusinessRule(
                f"Bookings open {self.limits.horizon.days} days ahead; this slot is further"
            )
        if ledger.overlapping(session, patient, start, end, now, appointment_id):
            raise BusinessRule("The patient has another appointment at that time")
        for service in {s.service for s in new if s.service}:
            count = ledger.active_for_service(session, patient, service, now, appointment_id)
            if count >= self.limits.per_service:
                raise BusinessRule(
                    f"A patient may hold {self.limits.per_service} upcoming appointment(s) of "
                    "one service at a time"
                )


def _hospital_change(before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    cancelling = after["status"] == "cancelled" and appointments.status_of(before) != "cancelled"
    if cancelling and not after.get("cancelationReason"):
        raise BusinessRule(
            "A hospital cancels with a reason", expression="Appointment.cancelationReason"
        )


def _fill_time(resource: dict[str, Any], slots: list[LedgerSlot]) -> None:
    start = format_instant(min(s.start for s in slots))
    end = format_instant(max(s.end for s in slots))
    if resource.get("start") is None and resource.get("end") is None:
        resource["start"], resource["end"] = start, end
        return
    given = (resource.get("start"), resource.get("end"))
    if given != (start, end) and not _same_instants(given, (start, end)):
        raise BusinessRule(
            f"The appointment's start and end must be those of its slots ({start} to {end})",
            expression="Appointment.start",
        )


def _same_instants(given: tuple[Any, Any], expected: tuple[str, str]) -> bool:
    try:
        return all(
            parse_instant(str(g)) == parse_instant(e) for g, e in zip(given, expected, strict=True)
        )
    except Invalid:
        return False


def _lock_patient(session: Connection, patient: str) -> None:
    """Bookings of one patient are checked one at a time: the overlap and per-service rules
    read the patient's seats, and two bookings must not both pass on the same reading."""
    read_current(session, None, "Patient", patient, for_update=True)  # never sealed
