"""What a caller confined to a compartment may see and write, as SQL conditions on the
resource table: a citizen their patient compartment, a practitioner the patients in their
care (care.py), a hospital what belongs to it (organizations.py), everyone the public
directory. Every read path applies them inside its query."""

from sqlalchemy import ColumnElement, FromClause, false, or_

from medsvc.access import organizations
from medsvc.access.care import Care, own_work
from medsvc.fhir import in_compartment
from medsvc.fhir.index import referring
from medsvc.security.context import AuthContext

# The public directory: any signed-in caller may read it; the platform writes all of it, a
# hospital its own entries (organizations.py).
DIRECTORY = organizations.DIRECTORY


def _practitioners(
    practitioner_id: str, resource_type: str, resource: FromClause, care: Care
) -> ColumnElement[bool]:
    """Their own appointments; the compartments of the patients in their care; their own
    work (the reports, results and orders that name them)."""
    if resource_type in ("Appointment", "AppointmentResponse"):  # their own only
        own = referring(resource_type, ("actor",), "Practitioner", practitioner_id)
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
