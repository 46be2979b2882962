"""The booking ledger: each bookable Slot's seats, and who holds or has booked them.

The database enforces the invariant: a slot's count of taken seats never exceeds its
capacity (check constraint), and a seat number is given once per slot (unique constraint).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Column, Field, SQLModel

from medsvc.db import BigId

ID_LEN = 64


class SlotLedger(SQLModel, table=True):
    """One row per Slot resource: its time, capacity and how many seats are taken."""

    __tablename__ = "slot_ledger"
    __table_args__ = (
        CheckConstraint("taken >= 0 AND taken <= capacity", name="within_capacity"),
        Index("ix_slot_ledger_schedule_id_start", "schedule_id", "start"),
        Index("ix_slot_ledger_start", "start"),
    )

    slot_id: str = Field(sa_column=Column(String(ID_LEN), primary_key=True))
    # The Slot's row in the resource table, whose search index rows $find reads.
    slot_pk: int = Field(sa_type=BigId)
    schedule_id: str = Field(sa_type=String(ID_LEN))
    start: datetime = Field(sa_type=DateTime(timezone=True))
    end: datetime = Field(sa_type=DateTime(timezone=True))
    capacity: int = Field(sa_type=Integer)
    taken: int = Field(default=0, sa_type=Integer)
    # False when the hospital made the slot unavailable (busy-unavailable, entered-in-error,
    # or published it busy): no seat of it can be held or booked.
    bookable: bool = Field(sa_type=Boolean)
    # The slot's first service type as system|code: the unit of the per-service booking limit.
    service: str | None = Field(default=None, sa_type=String(400))


def _seat_pk() -> Any:
    return Field(default=None, sa_column=Column("pk", BigId, primary_key=True, autoincrement=True))


class SlotSeat(SQLModel, table=True):
    """A seat of a slot held (until held_until) or booked by one appointment."""

    __tablename__ = "slot_seat"
    __table_args__ = (
        UniqueConstraint("slot_id", "seat", name="uq_slot_seat_slot_id_seat"),
        UniqueConstraint("appointment_id", "slot_id", name="uq_slot_seat_appointment_id_slot_id"),
        CheckConstraint("seat >= 0", name="seat_number"),
        Index("ix_slot_seat_patient_id", "patient_id"),
        Index("ix_slot_seat_held_until", "held_until"),
    )

    pk: int | None = _seat_pk()
    slot_id: str = Field(
        sa_column=Column(
            String(ID_LEN), ForeignKey("slot_ledger.slot_id", ondelete="CASCADE"), nullable=False
        )
    )
    seat: int = Field(sa_type=Integer)
    appointment_id: str = Field(sa_type=String(ID_LEN))
    patient_id: str | None = Field(default=None, sa_type=String(ID_LEN))
    # Set while the seat is only held ($hold); None once booked.
    held_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class AppointmentReminder(SQLModel, table=True):
    """A reminder planned for a booked appointment, sent once by the reminders job."""

    __tablename__ = "appointment_reminder"
    __table_args__ = (
        UniqueConstraint(
            "appointment_id", "due_at", name="uq_appointment_reminder_appointment_id_due_at"
        ),
        Index("ix_appointment_reminder_due_at", "due_at"),
    )

    pk: int | None = _seat_pk()
    appointment_id: str = Field(sa_type=String(ID_LEN))
    patient_id: str = Field(sa_type=String(ID_LEN))
    due_at: datetime = Field(sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
