"""Patient/[id]/$waiting-results: how many of the patient's reports and documents are not
released to them yet, waiting for a clinician's review or for a set time, told without
showing any of them. Results a clinician withheld are not counted: the clinician tells the
patient in their own way."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from medsvc.errors import Forbidden
from medsvc.fhir import Definitions, Operation, OperationCall, Result, interactions, jsonio
from medsvc.fhir.datetimes import format_instant
from medsvc.results.release import REL, WAITING
from medsvc.security import scopes


def _waiting(session: Connection, patient_id: str) -> tuple[int, int, datetime | None]:
    """(awaiting review, scheduled, the first scheduled release) among what the patient is
    told about (a report, or a document that is no report's PDF: `notified` is not null)."""
    scheduled = REL.due_at.is_not(None) & ~REL.needs_review
    query = select(
        func.count().filter(REL.needs_review),
        func.count().filter(scheduled),
        func.min(REL.due_at).filter(scheduled),
    ).where(REL.patient_id == patient_id, REL.state == WAITING, REL.notified.is_not(None))
    review, timed, first = session.execute(query).one()
    return int(review), int(timed), first


def _parameters(review: int, timed: int, first: datetime | None) -> dict[str, Any]:
    parameter: list[dict[str, Any]] = [
        {"name": "awaitingReview", "valueInteger": review},
        {"name": "scheduled", "valueInteger": timed},
    ]
    if first is not None:
        parameter.append({"name": "nextRelease", "valueDateTime": format_instant(first)})
    return {"resourceType": "Parameters", "parameter": parameter}


def waiting_results(call: OperationCall) -> Result:
    assert call.resource_id is not None
    ctx = call.ctx
    if not ctx.unrestricted and ctx.patient != f"Patient/{call.resource_id}":
        raise Forbidden("Only the patient asks how many of their results are not released yet")
    scopes.require(ctx, "DiagnosticReport", "search")
    interactions.visible_current(call.server, call.session, ctx, "Patient", call.resource_id)
    counts = _waiting(call.session, call.resource_id)
    return Result(200, body=jsonio.dumps(_parameters(*counts)))


def operation(definitions: Definitions) -> Operation:
    return Operation(definitions.operation("Patient-waiting-results"), waiting_results)
