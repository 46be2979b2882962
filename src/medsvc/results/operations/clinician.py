"""Who may hold or release a result: a practitioner caring for the patient, the hospital's
system, or the platform; never a patient. The result must be one the caller can see."""

from medsvc.errors import Forbidden
from medsvc.fhir import OperationCall, Stored, interactions
from medsvc.security import scopes


def result_for_clinician(call: OperationCall) -> Stored:
    assert call.resource_type is not None
    assert call.resource_id is not None
    ctx = call.ctx
    if not (ctx.unrestricted or ctx.organization or ctx.practitioner):
        raise Forbidden("Only a clinician or the hospital holds or releases a result")
    scopes.require(ctx, call.resource_type, "update")
    return interactions.visible_current(
        call.server, call.session, ctx, call.resource_type, call.resource_id
    )


def caller(call: OperationCall) -> str:
    """Who acted, as the release log records it."""
    return call.ctx.practitioner or call.ctx.organization or call.ctx.subject
