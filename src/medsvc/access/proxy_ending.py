"""Ending a proxy through its RelatedPerson: a citizen's app may only end one (active false,
with the period's end), never make or change one. A consented adult's proxy is ended by the
patient or by the proxy; a guardian's by the guardian (or at the child's age, or by an
operator), not by the child. The proxy's grants are revoked in the same unit of work."""

from typing import Any

from sqlalchemy import Connection

from medsvc.access import proxies
from medsvc.access.citizen_patient import changed_elements
from medsvc.access.roles import Role, role_of
from medsvc.access.tables import Proxy
from medsvc.clock import now
from medsvc.errors import Forbidden
from medsvc.fhir import Stored, WriteEvent
from medsvc.security.context import AuthContext

ENDING = frozenset({"active", "period"})  # what an end changes


def _ends(before: dict[str, Any] | None, after: dict[str, Any] | None) -> bool:
    if before is None or after is None or after.get("active") is not False:
        return False
    return set(changed_elements(before, after)) <= ENDING


def _may_end(ctx: AuthContext, proxy: Proxy) -> bool:
    acting_through_it = ctx.proxy == proxy.id
    the_patient = ctx.proxy is None and ctx.patient == f"Patient/{proxy.patient_id}"
    if proxy.kind == proxies.GUARDIAN:
        return acting_through_it
    return acting_through_it or the_patient


def before_write(session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
    if ctx.unrestricted or role_of(ctx) is not Role.CITIZEN:
        return
    if not _ends(event.previous, event.resource):
        raise Forbidden(
            "A citizen's app may only end a RelatedPerson (active false): proxies are made "
            "by a hospital, an operator, or the person's own consent",
            expression="RelatedPerson.active",
        )
    assert event.resource is not None  # an end has content
    proxy = proxies.found(session, str(event.resource.get("id", "")))
    if proxy is None or proxy.revoked_at is not None:
        raise Forbidden("That RelatedPerson is no proxy in force")
    if not _may_end(ctx, proxy):
        raise Forbidden(
            "A guardian's proxy for a child is ended by the guardian, or by a hospital or "
            "the operator; an adult's proxy by the patient or by the proxy"
        )


def after_write(session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored) -> None:
    """The proxy ends with its RelatedPerson, whoever ended it: its grants are revoked now."""
    if event.resource is None or event.resource.get("active") is not False:
        return
    proxy = proxies.found(session, stored.id)
    if proxy is not None and proxy.revoked_at is None:
        proxies.end(session, proxy, now())
