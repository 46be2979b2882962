"""A push never takes a result back: a DiagnosticReport, Observation or DocumentReference
written over a stored version it does not follow (an earlier status, an older issued, or any
change of a retracted result) is refused with 409 naming the stored version."""

from typing import Any

from sqlalchemy import Connection

from medsvc.errors import Conflict, Invalid
from medsvc.fhir import Stored, WriteEvent
from medsvc.fhir.datetimes import parse_range
from medsvc.security.context import AuthContext

# The R4B diagnostic-report-status and observation-status codes in the order a result moves
# through them (the codes' own hierarchy: partial and preliminary are both "not final yet";
# amended, corrected and appended all follow final). DocumentReference.docStatus
# (composition-status) fits the same order.
STAGE = {
    "registered": 0,
    "partial": 1,
    "preliminary": 1,
    "final": 2,
    "amended": 3,
    "corrected": 3,
    "appended": 3,
}
# Statuses that end a result: only the same status, or entered-in-error, may follow them.
ENDED = {"cancelled": {"cancelled", "entered-in-error"}, "entered-in-error": {"entered-in-error"}}
RETRACTED = "entered-in-error"
ORDERED_TYPES = frozenset({"DiagnosticReport", "Observation", "DocumentReference"})


class StaleResult(Conflict):
    """The push is older than the version stored: it would take the result back."""


def status_of(resource: dict[str, Any]) -> str | None:
    """A report's or Observation's status; a DocumentReference's docStatus, or its status
    when that says entered-in-error, or final for a current document without a docStatus."""
    if resource.get("resourceType") != "DocumentReference":
        return resource.get("status")
    if resource.get("status") == RETRACTED:
        return RETRACTED
    return resource.get("docStatus") or ("final" if resource.get("status") == "current" else None)


def issued_of(resource: dict[str, Any]) -> str | None:
    """When this version was released: issued, or a DocumentReference's date."""
    key = "date" if resource.get("resourceType") == "DocumentReference" else "issued"
    value = resource.get(key)
    return value if isinstance(value, str) else None


def _moment(text: str | None) -> int | None:
    """The instant in microseconds since the epoch, or None when absent or not an instant
    (validation reports a malformed one)."""
    if text is None:
        return None
    try:
        return parse_range(text)[0]
    except Invalid:
        return None


def refused_element(stored: dict[str, Any], pushed: dict[str, Any]) -> str | None:
    """The element by which the pushed content does not follow the stored one (status or
    issued), or None when it may replace it."""
    before, after = status_of(stored), status_of(pushed)
    if after == RETRACTED:
        return None  # a retraction always wins
    if before in ENDED:
        return None if after in ENDED[before] else "status"
    if after == "cancelled":
        # A test not started or not completed may be cancelled; a final result is corrected
        # or retracted instead.
        return "status" if STAGE.get(str(before), 0) >= STAGE["final"] else None
    if before in STAGE and after is not None and STAGE.get(after, -1) < STAGE[before]:
        return "status"  # an earlier stage, or a status outside the order (unknown)
    was, now = _moment(issued_of(stored)), _moment(issued_of(pushed))
    if was is not None and now is not None and now < was:
        return "date" if pushed.get("resourceType") == "DocumentReference" else "issued"
    return None


def describe(resource: dict[str, Any]) -> str:
    issued = issued_of(resource)
    return f"{status_of(resource)}" + (f", issued {issued}" if issued else "")


def before_write(_session: Connection, _ctx: AuthContext, event: WriteEvent) -> None:
    """The before-write hook on results: refuses an update that does not follow the stored
    version (the request's unit of work then writes nothing of its Bundle)."""
    stored, pushed = event.previous, event.resource
    if stored is None or pushed is None:
        return
    element = refused_element(stored, pushed)
    if element is None:
        return
    current: Stored | None = event.current
    assert current is not None
    kind = event.resource_type
    raise StaleResult(
        f"{kind}/{current.id}/_history/{current.version_id} is {describe(stored)}; "
        f"this push is {describe(pushed)}, which does not follow it: a result never goes "
        f"back (send entered-in-error to retract it)",
        expression=f"{kind}.{element}",
    )
