"""Patient/[id]/$everything (patient-operation-everything.html): the patient and every
resource in their compartment that the caller may see; each type's read filters apply, so
a patient gets only their released results and a clinician only what their care allows."""

from typing import Any

from sqlalchemy import false, select

from medsvc.fhir import compartments, interactions, jsonio, pending, store
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.fhir.search.sql import RESOURCE
from medsvc.fhir.store import Stored
from medsvc.security import scopes

# The compartment's types, and the Binaries (reports' PDFs) that follow them.
TYPES = (*sorted(compartments.PATIENT_COMPARTMENT), "Binary")


def _of_type(call: OperationCall, resource_type: str, patient_id: str, limit: int) -> list[Stored]:
    if not any(s.allows(resource_type, "r") for s in call.ctx.grants):
        return []
    conditions = [
        RESOURCE.c.resource_type == resource_type,
        RESOURCE.c.deleted == false(),
        compartments.in_compartment(resource_type, RESOURCE, patient_id),
    ]
    visible = call.server.registry.read_filter(call.ctx, resource_type, RESOURCE)
    if visible is not None:
        conditions.append(visible)
    pks = call.session.execute(
        select(RESOURCE.c.pk).where(*conditions).order_by(RESOURCE.c.pk).limit(limit)
    ).scalars()
    found = store.read_many(call.session, call.server.sealer, list(pks))
    return list(found.values())


def everything(call: OperationCall) -> Result:
    assert call.resource_id is not None
    scopes.require(call.ctx, "Patient", "read")
    pending.flush(call.session)
    patient = interactions.visible_current(
        call.server, call.session, call.ctx, "Patient", call.resource_id
    )
    limit = call.server.max_page_size
    found = [patient]
    for resource_type in TYPES:
        found += _of_type(call, resource_type, call.resource_id, limit)
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": stored.url(call.server.base_url),
            "resource": jsonio.raw(stored.content),
            "search": {"mode": "match"},
        }
        for stored in found
        if stored.content is not None
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "entry": entries,
    }
    return Result(200, body=jsonio.dumps(bundle))


def operation(definitions: Definitions) -> Operation:
    return Operation(definitions.operation("Patient-everything"), everything)
