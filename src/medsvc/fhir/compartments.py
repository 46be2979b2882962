"""What a caller confined to a compartment may see and write, as SQL conditions on the
resource table: a citizen their patient compartment, a practitioner the patients in their
care (access/care.py), a hospital what belongs to it (organizations.py), everyone the public
directory. Every read path applies them inside its query."""

from typing import Any

from sqlalchemy import CTE, ColumnElement, FromClause, Select, and_, false, or_, select

from medsvc.access.care import Care, own_work
from medsvc.fhir import organizations
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
    "CareTeam": ("patient", "participant"),
    "Communication": ("subject", "sender", "recipient"),
    "DiagnosticReport": ("subject",),
    "DocumentReference": ("subject", "author"),
    "Observation": ("subject", "performer"),
    "Provenance": ("patient",),
    "ServiceRequest": ("subject", "performer"),
    "Specimen": ("subject",),
}


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


def _practitioners(
    practitioner_id: str, resource_type: str, resource: FromClause, care: Care
) -> ColumnElement[bool]:
    """Their own appointments; the compartments of the patients in their care; their own
    work (the reports, results and orders that name them)."""
    if resource_type in ("Appointment", "AppointmentResponse"):  # their own only
        own = _referring(resource_type, ("actor",), "Practitioner", practitioner_id)
        return resource.c.pk.in_(own)
    in_care = in_compartment(resource_type, resource, care.patients(practitioner_id))
    theirs = own_work(resource_type, resource, practitioner_id)
    return in_care if theirs is None else or_(in_care, theirs)


def compartment(
    ctx: AuthContext, resource_type: str, resource: FromClause, care: Care
) -> ColumnElement[bool]:
    """The resources of a type in the caller's own compartment (the directory aside)."""
    if ctx.patient:
        return in_compartment(resource_type, resource, ctx.patient.split("/", 1)[1])
    if ctx.practitioner:
        return _practitioners(ctx.practitioner.split("/", 1)[1], resource_type, resource, care)
    if ctx.organization:
        return organizations.view(ctx.organization, resource_type, resource, writing=False)
    return false()


def readable(
    ctx: AuthContext, resource_type: str, resource: FromClause, care: Care
) -> ColumnElement[bool] | None:
    """The registry's read filter: None when the caller sees every resource of the type."""
    if ctx.unrestricted or resource_type in DIRECTORY:
        return None
    if ctx.role == "admin":  # administrators read the audit trail, and no patient's data
        return None if resource_type == "AuditEvent" else false()
    return compartment(ctx, resource_type, resource, care)


def writable(
    ctx: AuthContext, resource_type: str, resource: FromClause, care: Care
) -> ColumnElement[bool] | None:
    """What the caller may create, change or delete: their compartment, not the directory."""
    if ctx.unrestricted:
        return None
    if ctx.organization:
        return organizations.view(ctx.organization, resource_type, resource, writing=True)
    if resource_type in DIRECTORY or ctx.role == "admin":
        return false()
    return compartment(ctx, resource_type, resource, care)
