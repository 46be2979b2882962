"""The R4B patient compartment (CompartmentDefinition "patient") as SQL conditions on the
resource table: which resources of each type belong to a patient's record. Who may read a
compartment is policy, decided outside the engine."""

from typing import Any

from sqlalchemy import CTE, ColumnElement, FromClause, Select, and_, false, or_, select

from medsvc.fhir.index import REFERENCE, RESOURCE, ids_match, referring

REF = REFERENCE
# The R4B CompartmentDefinition "patient": the search parameters that put a resource of each
# supported type in a patient's compartment. AuditEvent is left out: only administrators
# read the audit trail.
PATIENT_COMPARTMENT = {
    "Appointment": ("actor",),
    "AppointmentResponse": ("actor",),
    "CareTeam": ("patient", "participant"),
    "Communication": ("subject", "sender", "recipient"),
    "DiagnosticReport": ("subject",),
    "DocumentReference": ("subject", "author"),
    "Observation": ("subject", "performer"),
    "Provenance": ("patient",),
    "RelatedPerson": ("patient",),
    "ServiceRequest": ("subject", "performer"),
    "Specimen": ("subject",),
}


def _binaries_of(patients: str | CTE) -> Select[Any]:
    """A Binary follows its security context (binary.html): a Patient of theirs, or a
    DocumentReference in their compartment."""
    documents = RESOURCE.alias("security_context")
    in_theirs = select(documents.c.id).where(
        documents.c.resource_type == "DocumentReference",
        in_compartment("DocumentReference", documents, patients),
    )
    return select(REF.c.resource_pk).where(
        REF.c.resource_type == "Binary",
        REF.c.param == "securitycontext",
        or_(
            and_(REF.c.target_type == "Patient", ids_match(REF.c.target_id, patients)),
            and_(REF.c.target_type == "DocumentReference", REF.c.target_id.in_(in_theirs)),
        ),
    )


def in_compartment(
    resource_type: str, resource: FromClause, patients: str | CTE
) -> ColumnElement[bool]:
    """Resources of the type in the compartment of the patients (an id, or a CTE of ids)."""
    if resource_type == "Patient":
        return ids_match(resource.c.id, patients)
    if resource_type == "Binary":
        return resource.c.pk.in_(_binaries_of(patients))
    params = PATIENT_COMPARTMENT.get(resource_type)
    if params is None:
        return false()
    return resource.c.pk.in_(referring(resource_type, params, "Patient", patients))
