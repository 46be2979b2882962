"""No one books themselves into a patient's care: an Appointment in a status that gives care
(access/care.py) is written by the hospital's system or the citizen's own booking, never by
the practitioner it would give access to, who may propose, cancel or annotate one."""

from typing import Any

from sqlalchemy import Connection

from medsvc.access.care import CARING_STATUSES
from medsvc.access.roles import Role, role_of
from medsvc.errors import Forbidden
from medsvc.fhir import WriteEvent
from medsvc.security.context import AuthContext

# What decides whose care an appointment gives, and until when.
CARE_DECIDING = ("start", "end", "participant")


def _gives_care(resource: dict[str, Any] | None) -> bool:
    return (resource or {}).get("status") in CARING_STATUSES


def _same_care(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Care as it was: it already gave care (arrived may become fulfilled), with the same
    people at the same time."""
    return _gives_care(before) and all((before or {}).get(k) == after.get(k) for k in CARE_DECIDING)


def before_write(_session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
    """A practitioner's Appointment write may leave care as it was (a comment, arrived to
    fulfilled), or end it; it may not start care, move it in time, or change whom it is with."""
    if role_of(ctx) is not Role.PRACTITIONER:
        return
    written = event.resource
    if written is None or not _gives_care(written) or _same_care(event.previous, written):
        return
    raise Forbidden(
        f"A practitioner may not write an Appointment that is {written.get('status')} or change "
        "when or with whom one is: a booked or attended appointment gives its practitioner "
        "access to the patient's record, so it is booked by the patient or the hospital's "
        "system; a practitioner may propose, cancel or annotate one",
        expression="Appointment.status",
    )
