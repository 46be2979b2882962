"""What a caller confined to a compartment may see and write, as SQL conditions on the
resource table: a citizen their patient compartment, a practitioner the patients in their
care, a hospital what belongs to it (organizations.py), everyone the public directory. Every
read path applies them inside its query."""

import hashlib
from typing import Any

from sqlalchemy import CTE, ColumnElement, FromClause, Select, and_, false, or_, select, union

from medsvc.fhir import organizations
from medsvc.fhir.shared_ctes import made_once
from medsvc.fhir.tables import ResourceRow, SearchReference
from medsvc.security.context import AuthContext

REF = SearchReference.__table__  # type: ignore[attr-defined]
RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
# The public directory: any signed-in caller may read it; the platform writes all of it, a
# hospital its own entries (organizations.py).
DIRECTORY = organizations.DIRECTORY
# The R4B CompartmentDefinition "patient": the search parameters that put a resource of each
# supported type in a patient's compartment. AuditEvent is left out: only administrators
# read the audit trail.
PATIENT_COMPARTMENT = {
    "Appointment": ("actor",),
    "AppointmentResponse": ("actor",),
    "Communication": ("subject", "sender", "recipient"),
    "DiagnosticReport": ("subject",),
    "DocumentReference": ("subject", "author"),
    "Observation": ("subject", "performer"),
    "Provenance": ("patient",),
    "ServiceRequest": ("subject", "performer"),
    "Specimen": ("subject",),
}
# A practitioner cares for the patients they have an appointment with, and those whose
# reports or orders they performed or requested.
CARE_LINKS = (
    ("Appointment", ("actor",), ("actor",)),
    ("DiagnosticReport", ("performer", "results-interpreter"), ("subject",)),
    ("ServiceRequest", ("performer", "requester"), ("subject",)),
)


def _ids_match(column: Any, ids: str | CTE) -> ColumnElement[bool]:
    """column = id, or column among the first column of a CTE of ids."""
    matched: ColumnElement[bool] = (
        column.in_(select(ids.c[0])) if isinstance(ids, CTE) else column == ids
    )
    return matched


def _referring(
    resource_type: str, params: tuple[str, ...], target_type: str, ids: str | CTE
) -> Select[Any]:
    """The pks of resources of a type whose params point at the given targets."""
    targets = _ids_match(REF.c.target_id, ids)
    return select(REF.c.resource_pk).where(
        REF.c.resource_type == resource_type,
        REF.c.param.in_(params),
        REF.c.target_type == target_type,
        targets,
    )


@made_once
def patients_in_care(practitioner_id: str) -> CTE:
    """The ids of the patients a practitioner cares for (a CTE, reused within a statement)."""
    linked = []
    for resource_type, by_practitioner, to_patient in CARE_LINKS:
        theirs = _referring(resource_type, by_practitioner, "Practitioner", practitioner_id)
        patient = REF.alias()
        linked.append(
            select(patient.c.target_id).where(
                patient.c.resource_pk.in_(theirs),
                patient.c.param.in_(to_patient),
                patient.c.target_type == "Patient",
            )
        )
    name = hashlib.sha256(practitioner_id.encode()).hexdigest()[:12]
    return union(*linked).cte(f"care_patients_{name}")


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
            and_(REF.c.target_type == "Patient", _ids_match(REF.c.target_id, patients)),
            and_(REF.c.target_type == "DocumentReference", REF.c.target_id.in_(in_theirs)),
        ),
    )


def in_compartment(
    resource_type: str, resource: FromClause, patients: str | CTE
) -> ColumnElement[bool]:
    """Resources of the type in the compartment of the patients (an id, or a CTE of ids)."""
    if resource_type == "Patient":
        return _ids_match(resource.c.id, patients)
    if resource_type == "Binary":
        return resource.c.pk.in_(_binaries_of(patients))
    params = PATIENT_COMPARTMENT.get(resource_type)
    if params is None:
        return false()
    return resource.c.pk.in_(_referring(resource_type, params, "Patient", patients))


def compartment(ctx: AuthContext, resource_type: str, resource: FromClause) -> ColumnElement[bool]:
    """The resources of a type in the caller's own compartment (the directory aside)."""
    if ctx.patient:
        return in_compartment(resource_type, resource, ctx.patient.split("/", 1)[1])
    if ctx.practitioner:
        practitioner_id = ctx.practitioner.split("/", 1)[1]
        if resource_type in ("Appointment", "AppointmentResponse"):  # their own only
            own = _referring(resource_type, ("actor",), "Practitioner", practitioner_id)
            return resource.c.pk.in_(own)
        return in_compartment(resource_type, resource, patients_in_care(practitioner_id))
    if ctx.organization:
        return organizations.view(ctx.organization, resource_type, resource, writing=False)
    return false()


def readable(
    ctx: AuthContext, resource_type: str, resource: FromClause
) -> ColumnElement[bool] | None:
    """The registry's read filter: None when the caller sees every resource of the type."""
    if ctx.unrestricted or resource_type in DIRECTORY:
        return None
    if ctx.role == "admin":  # administrators read the audit trail, and no patient's data
        return None if resource_type == "AuditEvent" else false()
    return compartment(ctx, resource_type, resource)


def writable(
    ctx: AuthContext, resource_type: str, resource: FromClause
) -> ColumnElement[bool] | None:
    """What the caller may create, change or delete: their compartment, not the directory."""
    if ctx.unrestricted:
        return None
    if ctx.organization:
        return organizations.view(ctx.organization, resource_type, resource, writing=True)
    if resource_type in DIRECTORY or ctx.role == "admin":
        return false()
    return compartment(ctx, resource_type, resource)
