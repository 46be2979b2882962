"""Telling a citizen that the hospital changed their appointment: cancelled it, or moved its
time or slot. The notice says only that it changed (no reason, no service, no place): the
citizen signs in to see it. Changes the citizen made, and ended holds, are not told."""

from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from medsvc import clock
from medsvc.fhir import Stored, WriteEvent
from medsvc.notify import texts
from medsvc.notify.language import TAGS, recipient_locale
from medsvc.notify.notifier import Notice, Notifier
from medsvc.scheduling import appointments
from medsvc.scheduling.appointments import BOOKED, BOOKING_ELEMENTS
from medsvc.security.context import AuthContext

TOPIC = "appointment-changed"


def changed_by_hospital(previous: dict[str, Any] | None, current: dict[str, Any] | None) -> bool:
    """A booked appointment cancelled, or moved while it stays booked."""
    if previous is None or current is None or previous.get("status") not in BOOKED:
        return False
    if current.get("status") == "cancelled":
        return True
    moved = any(previous.get(e) != current.get(e) for e in BOOKING_ELEMENTS)
    return current.get("status") in BOOKED and moved


@dataclass(frozen=True)
class HospitalChanges:
    """The after-write hook on Appointment: a hospital's system or one of its practitioners
    changed a citizen's booking; the notice is sent in the same unit of work."""

    notifier: Notifier
    base_url: str

    def after_write(
        self, session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        if not (ctx.organization or ctx.practitioner):
            return
        if not changed_by_hospital(event.previous, event.resource):
            return
        patient_id = appointments.patient_id(event.resource, self.base_url)
        if patient_id is not None:
            locale = recipient_locale(session, patient_id)
            text = texts.text(locale, texts.APPOINTMENT_CHANGED)
            about = f"Appointment/{stored.id}"
            written = partial(texts.text, message=texts.APPOINTMENT_CHANGED)
            notice = Notice(patient_id, TOPIC, text, about, TAGS[locale], written)
            self.notifier.send(session, notice, clock.now())
