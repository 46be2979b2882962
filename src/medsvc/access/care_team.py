"""Who records a care relationship: a CareTeam gives its practitioners access to its patient,
so only a hospital's system (for its own practitioners) or the platform writes one."""

from sqlalchemy import Connection, select

from medsvc.access import organizations
from medsvc.access.roles import Role, role_of
from medsvc.errors import Forbidden, Unprocessable
from medsvc.fhir import Stored, WriteEvent, index, pending
from medsvc.security.context import AuthContext


def before_write(session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
    if ctx.unrestricted:
        return
    if role_of(ctx) is not Role.HOSPITAL:  # as the write policy reads the role, by one reader
        raise Forbidden("Only a hospital's system records a CareTeam")
    if event.resource is None:
        return
    participants = [p for p in event.resource.get("participant") or [] if isinstance(p, dict)]
    if any("period" in p for p in participants):
        raise Unprocessable(
            "A participant's own period is not taken: the care relationship lasts for the "
            "CareTeam's period, so record one CareTeam per period"
        )


def after_write(session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored) -> None:
    """The practitioners are read from the new version's index rows, as every form of
    reference (literal, absolute, conditional) was resolved to them."""
    if event.resource is None or ctx.unrestricted:
        return
    assert ctx.organization is not None  # before_write let no one else through
    pending.flush(session)
    named = index.referred(stored.pk, "participant", "Practitioner")
    if set(session.execute(named).scalars()) - _members(session, ctx.organization):
        raise Forbidden("A hospital records care by its own practitioners only")


def _members(session: Connection, organization: str) -> set[str]:
    """The ids of the Practitioners in the organization's roles."""
    found = organizations.members(organization.split("/", 1)[1])
    query = select(found.c[1]).where(found.c[0] == "Practitioner")
    return set(session.execute(query).scalars())
