"""The booking ledger's statements: each Slot's row kept in step with the resource, and
seats taken and given back. A seat is taken by a conditional update of the slot's count,
so two bookings of the last seat cannot both succeed, on either database."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from medsvc.clock import utc
from medsvc.errors import Conflict
from medsvc.scheduling.tables import SlotLedger, SlotSeat

LEDGER = SlotLedger.__table__  # type: ignore[attr-defined]
SEAT = SlotSeat.__table__  # type: ignore[attr-defined]
L, S = LEDGER.c, SEAT.c


class SlotUnavailable(Conflict):
    """The slot has no seat left (or was made unavailable) when the booking reached it."""


@dataclass(frozen=True)
class LedgerSlot:
    slot_id: str
    slot_pk: int
    schedule_id: str
    start: datetime
    end: datetime
    capacity: int
    taken: int
    bookable: bool
    service: str | None


@dataclass(frozen=True)
class Seat:
    slot_id: str
    seat: int
    appointment_id: str
    patient_id: str | None
    held_until: datetime | None


def _slot(row: Any) -> LedgerSlot:
    return LedgerSlot(
        row.slot_id,
        row.slot_pk,
        row.schedule_id,
        utc(row.start),
        utc(row.end),
        row.capacity,
        row.taken,
        row.bookable,
        row.service,
    )


def _seat(row: Any) -> Seat:
    held = utc(row.held_until) if row.held_until is not None else None
    return Seat(row.slot_id, row.seat, row.appointment_id, row.patient_id, held)


# Statements built once: a booking runs each of them, and building one costs about what
# running it does.
_SLOTS = select(LEDGER).where(L.slot_id.in_(bindparam("slot_ids", expanding=True)))
_SEATS_OF = select(SEAT).where(S.appointment_id == bindparam("appointment_id"))
_SEATS_IN = select(SEAT).where(S.slot_id == bindparam("slot_id")).order_by(S.seat)
_TAKE = (
    update(LEDGER)
    .where(L.slot_id == bindparam("slot"), L.bookable.is_(True), L.taken < L.capacity)
    .values(taken=L.taken + 1)
    .returning(L.taken)
)
_INSERT_SEAT = insert(SEAT)
_FREE_SEATS = delete(SEAT).where(
    S.appointment_id == bindparam("appointment_id"), S.slot_id == bindparam("slot_id")
)
_GIVE_BACK = (
    update(LEDGER).where(L.slot_id == bindparam("slot")).values(taken=L.taken - bindparam("freed"))
)
_CONFIRM = (
    update(SEAT)
    .where(S.appointment_id == bindparam("appointment"), S.held_until.is_not(None))
    .values(held_until=None)
)


def read_slots(session: Connection, slot_ids: list[str]) -> dict[str, LedgerSlot]:
    if not slot_ids:
        return {}
    rows = session.execute(_SLOTS, {"slot_ids": slot_ids}).all()
    return {row.slot_id: _slot(row) for row in rows}


def put_slot(session: Connection, slot: LedgerSlot) -> None:
    """Inserts or updates the slot's row; the count of taken seats is the ledger's own."""
    values = {
        "slot_pk": slot.slot_pk,
        "schedule_id": slot.schedule_id,
        "start": slot.start,
        "end": slot.end,
        "capacity": slot.capacity,
        "bookable": slot.bookable,
        "service": slot.service,
    }
    changed = session.execute(update(LEDGER).where(L.slot_id == slot.slot_id).values(values))
    if changed.rowcount == 0:
        session.execute(insert(LEDGER).values(slot_id=slot.slot_id, taken=0, **values))


def remove_slot(session: Connection, slot_id: str) -> None:
    session.execute(delete(LEDGER).where(L.slot_id == slot_id))


def seats_of(session: Connection, appointment_id: str) -> list[Seat]:
    rows = session.execute(_SEATS_OF, {"appointment_id": appointment_id}).all()
    return [_seat(row) for row in rows]


def seats_in(session: Connection, slot_id: str) -> list[Seat]:
    rows = session.execute(_SEATS_IN, {"slot_id": slot_id}).all()
    return [_seat(row) for row in rows]


def take_seat(
    session: Connection,
    slot_id: str,
    appointment_id: str,
    patient_id: str | None,
    held_until: datetime | None,
) -> None:
    """Takes a seat of the slot for the appointment, or raises SlotUnavailable.

    The count is raised only where a seat is left: on PostgreSQL a concurrent booking of
    the same slot waits for this row and then re-checks the condition against the new
    count; on SQLite writers run one at a time. The check constraint and the unique seat
    number stand behind it.
    """
    taken = session.execute(_TAKE, {"slot": slot_id}).scalar()
    if taken is None:
        raise SlotUnavailable(f"Slot/{slot_id} is no longer available")
    number = 0  # the slot's first seat: no other seat to read
    if taken > 1:
        used = {seat.seat for seat in seats_in(session, slot_id)}
        number = next(n for n in range(len(used) + 1) if n not in used)
    row = {
        "slot_id": slot_id,
        "seat": number,
        "appointment_id": appointment_id,
        "patient_id": patient_id,
        "held_until": held_until,
    }
    session.execute(_INSERT_SEAT, row)


def give_back(session: Connection, appointment_id: str, slot_ids: list[str]) -> None:
    """Frees the appointment's seats in these slots."""
    for slot_id in slot_ids:
        keys = {"appointment_id": appointment_id, "slot_id": slot_id}
        freed = session.execute(_FREE_SEATS, keys)
        if freed.rowcount:
            session.execute(_GIVE_BACK, {"slot": slot_id, "freed": freed.rowcount})


def confirm_seats(session: Connection, appointment_id: str) -> None:
    """A held appointment is booked: its seats are no longer released when the hold ends."""
    session.execute(_CONFIRM, {"appointment": appointment_id})


def expired_holds(
    session: Connection, now: datetime, slot_id: str | None = None, limit: int = 100
) -> list[str]:
    """Appointments whose hold ended, oldest first (of one slot, or of all)."""
    query = select(S.appointment_id).where(S.held_until.is_not(None), S.held_until <= now)
    if slot_id is not None:
        query = query.where(S.slot_id == slot_id)
    query = query.group_by(S.appointment_id).order_by(func.min(S.held_until)).limit(limit)
    return list(session.execute(query).scalars())


def overlapping(
    session: Connection,
    patient_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    besides: str,
) -> str | None:
    """An appointment of the patient, other than `besides`, whose seats overlap the time."""
    query = (
        select(S.appointment_id)
        .join(LEDGER, L.slot_id == S.slot_id)
        .where(
            S.patient_id == patient_id,
            S.appointment_id != besides,
            L.start < end,
            L.end > start,
            _active(now),
        )
        .limit(1)
    )
    return session.execute(query).scalar()


def active_for_service(
    session: Connection, patient_id: str, service: str, now: datetime, besides: str
) -> int:
    """How many appointments the patient has ahead in slots of the service."""
    query = (
        select(func.count(func.distinct(S.appointment_id)))
        .join(LEDGER, L.slot_id == S.slot_id)
        .where(
            S.patient_id == patient_id,
            S.appointment_id != besides,
            L.service == service,
            L.end > now,
            _active(now),
        )
    )
    return int(session.execute(query).scalar_one())


def _active(now: datetime) -> Any:
    """A booked seat, or a held one whose hold has not ended."""
    return or_(S.held_until.is_(None), S.held_until > now)
