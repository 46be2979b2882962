"""What belongs to a hospital organization, as SQL: its directory entries (the organization,
locations, services and roles naming it, the practitioners in those roles, their schedules
and slots), the appointments there, what its systems wrote, and the patients in its view."""

import hashlib
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    literal,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from medsvc.fhir.search.params import Criterion
from medsvc.fhir.shared_ctes import made_once
from medsvc.fhir.store import Stored
from medsvc.fhir.tables import OrganizationPatient, ResourceRow, SearchReference
from medsvc.security.context import AuthContext

REF = SearchReference.__table__  # type: ignore[attr-defined]
RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
LINK = OrganizationPatient.__table__  # type: ignore[attr-defined]
NAMING_TYPES = ("Location", "HealthcareService", "PractitionerRole")  # each by `organization`
# A hospital may add a Practitioner before the role that links them to it; every other entry
# must name it (locations, services, roles) or hang from its members (schedules, slots), and
# its one Organization is the only one it may change.
ANYONE_MAY_ADD = ("Practitioner",)
DIRECTORY = frozenset(
    {
        "Organization",
        "Location",
        "HealthcareService",
        "Practitioner",
        "PractitionerRole",
        "Schedule",
        "Slot",
    }
)


# Each set is a named CTE, built once per organization and reused: the database reads it
# once per statement, and the statements stay shallow enough for SQLite's parser.
@made_once
def members(org_id: str) -> CTE:
    """(type, id) of the organization and of the directory entries that belong to it."""
    naming = REF.alias()
    names_it = and_(
        naming.c.param == "organization",
        naming.c.target_type == "Organization",
        naming.c.target_id == org_id,
    )
    named = (
        select(RESOURCE.c.resource_type, RESOURCE.c.id)
        .join(naming, naming.c.resource_pk == RESOURCE.c.pk)
        .where(naming.c.resource_type.in_(NAMING_TYPES), names_it)
    )
    role = REF.alias()
    practitioners = (
        select(literal("Practitioner"), role.c.target_id)
        .join(naming, naming.c.resource_pk == role.c.resource_pk)
        .where(
            naming.c.resource_type == "PractitionerRole",
            names_it,
            role.c.param == "practitioner",
            role.c.target_type == "Practitioner",
        )
    )
    itself = select(literal("Organization"), literal(org_id))
    return union(itself, named, practitioners).cte(f"org_members_{_tag(org_id)}")


def _pointing(resource_type: str, param: str, targets: CTE) -> Select[Any]:
    """pks of resources of the type whose param points at one of the (type, id) targets."""
    ref = REF.alias()
    return select(ref.c.resource_pk).where(
        ref.c.resource_type == resource_type,
        ref.c.param == param,
        tuple_(ref.c.target_type, ref.c.target_id).in_(select(targets.c[0], targets.c[1])),
    )


def _as_targets(resource_type: str, pks: CTE, name: str) -> CTE:
    row = RESOURCE.alias()
    return select(literal(resource_type), row.c.id).where(row.c.pk.in_(select(pks.c[0]))).cte(name)


@made_once
def schedules(org_id: str) -> CTE:
    return _pointing("Schedule", "actor", members(org_id)).cte(f"org_schedules_{_tag(org_id)}")


@made_once
def slots(org_id: str) -> CTE:
    targets = _as_targets("Schedule", schedules(org_id), f"org_schedule_ids_{_tag(org_id)}")
    return _pointing("Slot", "schedule", targets).cte(f"org_slots_{_tag(org_id)}")


@made_once
def appointments(org_id: str) -> CTE:
    """Appointments with one of the organization's members, or in one of its slots."""
    with_member = _pointing("Appointment", "actor", members(org_id))
    targets = _as_targets("Slot", slots(org_id), f"org_slot_ids_{_tag(org_id)}")
    in_slot = _pointing("Appointment", "slot", targets)
    return union(with_member, in_slot).cte(f"org_appointments_{_tag(org_id)}")


@made_once
def patients(org: str) -> CTE:
    """Ids of the patients in the organization's view, besides those it created: those it
    resolved by identifier and those with an appointment there. Its writes may refer only
    to patients in view (access/rules.py), so its results never widen the view."""
    org_id = org.split("/", 1)[1]
    there = REF.alias()
    # The appointments' own rows, looked up by resource_pk and param. Without the param the
    # database may read every reference to any patient instead (the audit trail's included),
    # which a hospital's push pays for every patient it names.
    by_appointment = select(there.c.target_id).where(
        there.c.resource_pk.in_(select(appointments(org_id).c[0])),
        there.c.param == "patient",
        there.c.target_type == "Patient",
    )
    resolved = select(LINK.c.patient_id).where(LINK.c.organization == org)
    return union(by_appointment, resolved).cte(f"org_patients_{_tag(org_id)}")


def _tag(org_id: str) -> str:
    """A CTE name part from an id (ids are [A-Za-z0-9.-]): one name per organization."""
    return hashlib.sha256(org_id.encode()).hexdigest()[:12]


def _directory_entry(org_id: str, resource_type: str, resource: FromClause) -> Any:
    if resource_type == "Organization":
        return resource.c.id == org_id
    if resource_type == "Schedule":
        return resource.c.pk.in_(select(schedules(org_id).c[0]))
    if resource_type == "Slot":
        return resource.c.pk.in_(select(slots(org_id).c[0]))
    found = members(org_id)
    return resource.c.id.in_(select(found.c[1]).where(found.c[0] == resource_type))


def view(
    org: str, resource_type: str, resource: FromClause, *, writing: bool
) -> ColumnElement[bool]:
    """What the organization's systems may see, or (writing) change, of a type outside the
    public directory, and of the directory when writing: its own entries only."""
    return cast(ColumnElement[bool], _view(org, resource_type, resource, writing))


def _view(org: str, resource_type: str, resource: FromClause, writing: bool) -> Any:
    org_id = org.split("/", 1)[1]
    owned = resource.c.owner == org
    if resource_type in DIRECTORY:
        own_entry = _directory_entry(org_id, resource_type, resource)
        return or_(own_entry, owned) if resource_type in ANYONE_MAY_ADD else own_entry
    if resource_type == "Patient" and not writing:
        return or_(owned, resource.c.id.in_(select(patients(org).c[0])))
    if resource_type == "Appointment":
        return or_(owned, resource.c.pk.in_(select(appointments(org_id).c[0])))
    return owned


def identification(
    ctx: AuthContext, resource_type: str, criteria: list[Criterion]
) -> Callable[[Connection, Stored], None] | None:
    """The registry's identification hook: a hospital naming one patient by exact
    identifiers (system|value, no modifier) finds them outside its view, and they join it."""
    organization = ctx.organization
    if ctx.unrestricted or not organization or resource_type != "Patient" or not criteria:
        return None
    exact = all(
        c.param is not None
        and c.param.code == "identifier"
        and c.modifier is None
        and c.chain is None
        and len(c.values) == 1
        and _system_and_value(c.values[0])
        for c in criteria
    )
    if not exact:
        return None
    return lambda session, found: link_patient(session, organization, found.id)


def _system_and_value(token: str) -> bool:
    system, bar, value = token.partition("|")
    return bool(bar and system and value)


def link_patient(session: Connection, org: str, patient_id: str) -> None:
    insert = pg_insert if session.dialect.name == "postgresql" else sqlite_insert
    statement = insert(LINK).values(organization=org, patient_id=patient_id)
    session.execute(statement.on_conflict_do_nothing())
