"""The access rules as registry hooks: compartments and granular scopes narrow every read
inside its query, and every write must start and land where the caller may write."""

from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, and_, false, or_, select

from medsvc.access import compartments
from medsvc.access.care import Care
from medsvc.errors import Forbidden
from medsvc.fhir import (
    Compiler,
    FhirServer,
    QueryParser,
    Stored,
    WriteEvent,
    index,
    pending,
    references,
)
from medsvc.fhir.index import RESOURCE
from medsvc.security.context import AuthContext
from medsvc.security.scopes import PERMISSION

READ_PERMISSIONS = "rs"
REF = index.REFERENCE


class AccessRules:
    """The hooks, bound to the server whose search parameters granular scopes are written in."""

    def __init__(self, server: FhirServer, care: Care):
        self.server, self.care = server, care
        self.compiler = Compiler(server.base_url, lambda _type, _resource: None)

    def _granted(
        self, ctx: AuthContext, resource_type: str, permissions: str, resource: FromClause
    ) -> ColumnElement[bool] | None:
        """SMART v2 granular scopes (`patient/Observation.rs?category=laboratory`): when every
        scope that grants the permission carries a query, the resources must match one."""
        grants = [
            s
            for s in ctx.grants
            if s.resource_type in ("*", resource_type) and set(s.permissions) & set(permissions)
        ]
        if not grants or any(not s.query for s in grants):
            return None
        parser = QueryParser(
            self.server.definitions, resource_type, strict=True, default_count=1, max_count=1
        )
        matching = [parser.parse(list(s.query)).criteria for s in grants]
        return or_(*[and_(*self.compiler.where(resource_type, c, resource)) for c in matching])

    def read_filter(
        self, ctx: AuthContext, resource_type: str, resource: FromClause
    ) -> ColumnElement[bool] | None:
        if not any(s.allows(resource_type, p) for s in ctx.grants for p in READ_PERMISSIONS):
            return false()  # e.g. an _include of a type no scope lets the caller read
        conditions = [
            compartments.readable(ctx, resource_type, resource, self.care),
            self._granted(ctx, resource_type, READ_PERMISSIONS, resource),
        ]
        present = [c for c in conditions if c is not None]
        return and_(*present) if present else None

    def _may_write(
        self, session: Connection, ctx: AuthContext, stored: Stored, permission: str
    ) -> bool:
        conditions = [
            compartments.writable(ctx, stored.resource_type, RESOURCE, self.care),
            self._granted(ctx, stored.resource_type, permission, RESOURCE),
        ]
        present = [c for c in conditions if c is not None]
        if not present:
            return True
        query = select(RESOURCE.c.pk).where(RESOURCE.c.pk == stored.pk, *present)
        return session.execute(query).first() is not None

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        """A change or deletion must start from a resource the caller may write, and what is
        written may name only patients the caller could see before it was written."""
        if ctx.unrestricted:
            return
        if event.current is not None:
            permission = PERMISSION["delete" if event.interaction == "delete" else "update"]
            if not self._may_write(session, ctx, event.current, permission):
                raise Forbidden(f"This caller may not change {event.resource_type} resources here")
        if event.resource is not None and _names_unseen_patient(
            session, ctx, self.server.base_url, event.resource, self.care
        ):
            raise Forbidden(f"The {event.resource_type} refers to a patient this caller cannot see")

    def after_write(
        self, session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        """What was written must be in the caller's compartment (and granular scopes), or the
        whole request is undone."""
        if event.resource is None or ctx.unrestricted:
            return
        pending.flush(session)  # the new version's index rows decide, so they must be there
        permission = PERMISSION["create" if event.interaction == "create" else "update"]
        if not self._may_write(session, ctx, stored, permission):
            raise Forbidden(
                f"The {event.resource_type} would be outside what this caller may write"
            )


def _names_unseen_patient(
    session: Connection, ctx: AuthContext, base_url: str, resource: dict[str, Any], care: Care
) -> bool:
    """Whether a write would reach into a patient record the writer cannot see (an
    Observation a citizen files with someone else as its performer, say). It is decided on
    what the caller could see before the write: an Appointment a hospital writes must not
    bring its own patient into the hospital's view."""
    named = {t.id for t in references.local_targets(resource, base_url) if t.type == "Patient"}
    if not named:
        return False
    patient = RESOURCE.alias()
    in_view = compartments.readable(ctx, "Patient", patient, care)
    seen = select(patient.c.id).where(
        patient.c.resource_type == "Patient", patient.c.id.in_(named), patient.c.deleted == false()
    )
    if in_view is not None:
        seen = seen.where(in_view)
    return len(set(session.execute(seen).scalars())) < len(named)
