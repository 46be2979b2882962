"""Patient/[id]/$release-choice: a patient chooses to see their results only after a
clinician has reviewed them (afterReview true), or as soon as the policy releases them.
It applies to the results written from then on."""

from typing import Any

from sqlalchemy import Connection, delete, insert

from medsvc import clock
from medsvc.errors import Forbidden, Invalid
from medsvc.fhir import interactions
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.operations.parameters import read_inputs
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.results.release import CHOICE, log
from medsvc.security import scopes


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise Invalid("$release-choice needs afterReview, true or false")


def record_choice(session: Connection, patient_id: str, after_review: bool, by: str) -> None:
    session.execute(delete(CHOICE).where(CHOICE.c.patient_id == patient_id))
    values = {"patient_id": patient_id, "after_review": after_review, "updated_at": clock.now()}
    session.execute(insert(CHOICE), values)
    log(session, "choice", f"Patient/{patient_id}", by, f"afterReview={str(after_review).lower()}")


def release_choice(call: OperationCall) -> Result:
    assert call.resource_id is not None
    ctx = call.ctx
    if not ctx.unrestricted and ctx.patient != f"Patient/{call.resource_id}":
        raise Forbidden("Only the patient chooses how their results are released")
    scopes.require(ctx, "Patient", "update")
    after_review = _boolean(read_inputs(call).one("afterReview"))
    current = interactions.visible_current(
        call.server, call.session, ctx, "Patient", call.resource_id
    )
    record_choice(call.session, call.resource_id, after_review, ctx.patient or ctx.subject)
    return Result(200, current)


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "release-choice",
        frozenset({"instance"}),
        release_choice,
        definitions.operations["release-choice"],
        affects_state=True,
        types=frozenset({"Patient"}),
    )
