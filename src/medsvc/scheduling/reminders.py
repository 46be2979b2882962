"""Appointment reminders: planned when an appointment is booked, sent once by a job.

A reminder is sent and marked sent in one transaction, on rows the job has claimed, so each
is sent exactly once however often the job runs and in however many workers.
"""

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from medsvc.clock import utc
from medsvc.fhir import jsonio, read_current, references
from medsvc.fhir.datetimes import parse_instant
from medsvc.notify import texts
from medsvc.notify.language import TAGS, recipient_locale
from medsvc.notify.notifier import Notice, Notifier
from medsvc.scheduling.tables import AppointmentReminder

REMINDER = AppointmentReminder.__table__  # type: ignore[attr-defined]
M = REMINDER.c
TOPIC = "appointment-reminder"
# start - hours must stay a date; no appointment is booked a year ahead.
MAX_HOURS = 366 * 24


BATCH = 100  # reminders one run sends at most


def reminder_hours(text: str) -> tuple[float, ...]:
    """The offsets of the setting reminder_hours ("24,2"), largest first; "" plans none."""
    hours: set[float] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"reminder_hours: '{part}' is not a number of hours") from None
        if not (math.isfinite(value) and 0 < value <= MAX_HOURS):
            raise ValueError(f"reminder_hours: {part} is not between 0 and {MAX_HOURS} hours")
        hours.add(value)
    return tuple(sorted(hours, reverse=True))


# Built once: planning runs in every booking's transaction.
_UNSENT = select(M.pk, M.patient_id, M.due_at).where(
    M.appointment_id == bindparam("appointment_id"), M.sent_at.is_(None)
)
_DELETE = delete(REMINDER).where(M.pk.in_(bindparam("pks", expanding=True)))
_CANCEL = delete(REMINDER).where(
    M.appointment_id == bindparam("appointment_id"), M.sent_at.is_(None)
)
# An insert that leaves a reminder already sent for that time as it is.
_INSERT_NEW = {
    "postgresql": postgresql.insert(REMINDER).on_conflict_do_nothing(
        index_elements=["appointment_id", "due_at"]
    ),
    "sqlite": sqlite.insert(REMINDER).on_conflict_do_nothing(
        index_elements=["appointment_id", "due_at"]
    ),
}


def plan_reminders(
    session: Connection,
    appointment_id: str,
    patient_id: str,
    start: datetime,
    now: datetime,
    hours: Sequence[float],
    *,
    new: bool = False,
) -> None:
    """Replaces the appointment's unsent reminders with one per offset whose time is still
    ahead of now. Planning again gives the same rows; a time already sent is not planned again.
    A new appointment (new=True) has none yet, so nothing is read or replaced.
    """
    start, now = utc(start), utc(now)  # SQLite keeps instants as text without a zone
    due = {d for d in {start - timedelta(hours=h) for h in hours} if d > now}
    if not new:
        unsent = session.execute(_UNSENT, {"appointment_id": appointment_id}).all()
        kept = {
            utc(r.due_at) for r in unsent if r.patient_id == patient_id and utc(r.due_at) in due
        }
        stale = [r.pk for r in unsent if r.patient_id != patient_id or utc(r.due_at) not in due]
        if stale:
            session.execute(_DELETE, {"pks": stale})
        due -= kept
    rows = [
        {"appointment_id": appointment_id, "patient_id": patient_id, "due_at": d}
        for d in sorted(due)
    ]
    if rows:
        session.execute(_INSERT_NEW[session.dialect.name], rows)


def cancel_reminders(session: Connection, appointment_id: str) -> None:
    session.execute(_CANCEL, {"appointment_id": appointment_id})


def send_due_reminders(
    notifier: Notifier,
    timezone: str,
    session: Connection,
    now: datetime,
    batch: int = BATCH,
    *,
    base_url: str | None = None,
) -> int:
    """The reminders job: sends up to batch reminders due by now and returns how many it sent.

    A reminder whose appointment is gone, no longer booked, no longer the patient's or already
    started is deleted without a message, and so is one a later reminder of the same
    appointment supersedes. It only executes statements; the caller's unit of work commits
    the messages and the marks together.
    """
    now = utc(now)
    zone = ZoneInfo(timezone)
    claimed = _claim_due(session, now, batch)
    latest = {row.appointment_id: row.pk for row in claimed}  # ordered by due_at: last wins
    sent: list[int] = []
    dropped: list[int] = []
    for row in claimed:
        appointment = None
        if latest[row.appointment_id] == row.pk:
            appointment = _still_booked(session, row, now, base_url)
        if appointment is None:
            dropped.append(row.pk)
            continue
        locale = recipient_locale(session, row.patient_id)
        text = reminder_text(appointment, locale, zone, base_url)
        about = f"Appointment/{row.appointment_id}"
        written = partial(reminder_text, appointment, zone=zone, base_url=base_url)
        notice = Notice(row.patient_id, TOPIC, text, about, TAGS[locale], written)
        notifier.send(session, notice, now)
        sent.append(row.pk)
    if dropped:
        session.execute(delete(REMINDER).where(M.pk.in_(dropped)))
    if sent:
        session.execute(update(REMINDER).where(M.pk.in_(sent)).values(sent_at=now))
    return len(sent)


def _claim_due(session: Connection, now: datetime, batch: int) -> list[Any]:
    query = (
        select(M.pk, M.appointment_id, M.patient_id)
        .where(M.sent_at.is_(None), M.due_at <= now)
        .order_by(M.due_at, M.pk)
        .limit(batch)
        # PostgreSQL: a worker locks the rows it takes until it commits and skips those another
        # holds. SQLite has no row locks and needs none: its writers run one at a time (db.py).
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query))


def _still_booked(
    session: Connection, row: Any, now: datetime, base_url: str | None
) -> dict[str, Any] | None:
    """The appointment as it is now, if the reminder still applies to it."""
    current = read_current(session, None, "Appointment", row.appointment_id)  # never sealed
    if current is None or current.content is None:
        return None
    appointment: dict[str, Any] = jsonio.loads_stored(current.content)
    if appointment.get("status") != "booked" or "start" not in appointment:
        return None
    if parse_instant(appointment["start"]) <= now:
        return None
    if row.patient_id not in _actors(appointment, "Patient", base_url):
        return None
    return appointment


def _actors(
    appointment: dict[str, Any], resource_type: str, base_url: str | None
) -> dict[str, str | None]:
    """The ids of the local participants of a type, each with its display."""
    found: dict[str, str | None] = {}
    for participant in appointment.get("participant", []):
        actor = participant.get("actor") or {}
        target = references.local_target(actor.get("reference"), base_url)
        if target is not None and target.type == resource_type:
            found[target.id] = actor.get("display")
    return found


def reminder_text(
    appointment: dict[str, Any], locale: str, zone: ZoneInfo, base_url: str | None
) -> str:
    """The message in the recipient's locale: when and where, in the city's time zone.
    Nothing clinical (no service, specialty, reason or practitioner), since it may be read
    on a locked phone screen."""
    places = [name for name in _actors(appointment, "Location", base_url).values() if name]
    start = parse_instant(appointment["start"])
    return texts.reminder(locale, start, zone, places[0] if places else None)
