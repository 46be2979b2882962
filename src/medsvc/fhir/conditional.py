"""Conditional create, update and delete (http.html#ccreate, #cond-update, #cdelete).

Conditions are searched strictly: an unknown parameter is refused, never ignored, since
ignoring it would widen the match. Creating under a condition is unique even under
concurrency: a conditional_key row per (type, normalised condition) is claimed with
INSERT .. ON CONFLICT DO NOTHING; a creator that loses the claim waits on the row lock,
then searches again and finds the winner's resource.
"""

import hashlib
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from medsvc.errors import ConcurrentMatch, Conflict, Invalid, MultipleMatches
from medsvc.fhir import interactions, store, validation
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import ResourceDefinition
from medsvc.fhir.search.run import find_matches
from medsvc.fhir.server import FhirServer
from medsvc.fhir.store import Stored
from medsvc.fhir.tables import ConditionalKey
from medsvc.security import scopes
from medsvc.security.context import AuthContext

KEY = ConditionalKey.__table__  # type: ignore[attr-defined]


def parse_condition(query: str) -> list[tuple[str, str]]:
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise Invalid("A conditional request needs at least one search parameter")
    return pairs


def condition_hash(pairs: list[tuple[str, str]]) -> str:
    canonical = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    return hashlib.sha256(canonical.encode()).hexdigest()


def single_match(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    pairs: list[tuple[str, str]],
    *,
    identify: bool = False,
) -> Stored | None:
    matches = find_matches(server, session, ctx, resource_type, pairs, identify=identify)
    if len(matches) > 1:
        raise MultipleMatches(f"More than one {resource_type} matches the condition")
    return matches[0] if matches else None


def _claim(session: Connection, resource_type: str, query_hash: str) -> bool:
    dialect = session.dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(KEY).values(resource_type=resource_type, query_hash=query_hash)
    return session.execute(statement.on_conflict_do_nothing()).rowcount == 1


def create_unique(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    definition: ResourceDefinition,
    resource: dict[str, Any],
    pairs: list[tuple[str, str]],
    resource_id: str | None = None,
) -> Result:
    """Creates the resource unless one matching the condition exists (then returns it, 200)."""
    existing = single_match(server, session, ctx, definition.type, pairs, identify=True)
    if existing is not None:
        return Result(200, existing)
    interactions.prepare(server, session, ctx, "create", resource, None)
    query_hash = condition_hash(pairs)
    if not _claim(session, definition.type, query_hash):
        session.execute(
            select(KEY.c.resource_pk)
            .where(KEY.c.resource_type == definition.type, KEY.c.query_hash == query_hash)
            .with_for_update()
        )
        existing = single_match(server, session, ctx, definition.type, pairs, identify=True)
        if existing is not None:
            return Result(200, existing)
    result = interactions.insert(server, session, ctx, definition, resource, resource_id)
    assert result.stored is not None
    session.execute(
        update(KEY)
        .where(KEY.c.resource_type == definition.type, KEY.c.query_hash == query_hash)
        .values(resource_pk=result.stored.pk)
    )
    return result


def create(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    body: Any,
    condition: str,
) -> Result:
    definition = server.definition(resource_type, "create")
    scopes.require(ctx, resource_type, "create")
    resource = validation.require_resource(body, resource_type)
    return create_unique(server, session, ctx, definition, resource, parse_condition(condition))


def update_matching(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    condition: str,
    body: Any,
    if_match: str | None = None,
    create_id: str | None = None,
) -> Result:
    """PUT Type?condition: update the one match, create when none, 412 when several.

    create_id is the id a transaction gave the resource to create (other entries refer to
    it by its fullUrl): a match that appeared since, or a create that lost to a concurrent
    one, is a ConcurrentMatch, and the transaction runs again with the match's id.
    """
    definition = server.definition(resource_type, "update")
    scopes.require(ctx, resource_type, "update")
    resource = validation.require_resource(body, resource_type)
    pairs = parse_condition(condition)
    match = single_match(server, session, ctx, resource_type, pairs)
    body_id = resource.get("id")
    if match is not None and create_id is not None and match.id != create_id:
        raise ConcurrentMatch(f"A matching {resource_type} was created concurrently; retry")
    if match is not None:
        if body_id is not None and body_id != match.id:
            raise Invalid(
                f"The resource id '{body_id}' differs from the matching {resource_type}/{match.id}",
                expression="id",
            )
        current = store.read_current(
            session, server.sealer, resource_type, match.id, for_update=True
        )
        assert current is not None
        return interactions.write_version(
            server,
            session,
            ctx,
            definition,
            current,
            {**resource, "id": match.id},
            interactions.parse_version(if_match),
            "PUT",
        )
    scopes.require(ctx, resource_type, "create")
    if body_id is not None and not ctx.unrestricted:
        raise Invalid("Only the platform chooses ids; leave id out", expression="id")
    if body_id is not None:
        if not interactions.ID_PATTERN.match(str(body_id)):
            raise Invalid(f"'{body_id}' is not a valid id", expression="id")
        if store.read_current(session, server.sealer, resource_type, body_id) is not None:
            raise Conflict(f"{resource_type}/{body_id} exists but does not match the condition")
    result = create_unique(server, session, ctx, definition, resource, pairs, body_id or create_id)
    if create_id is not None and (result.stored is None or result.stored.id != create_id):
        raise ConcurrentMatch(f"A matching {resource_type} was created concurrently; retry")
    return result


def delete_matching(
    server: FhirServer, session: Connection, ctx: AuthContext, resource_type: str, condition: str
) -> Result:
    """DELETE Type?condition: deletes the one match; none is a no-op, several a 412."""
    definition = server.definition(resource_type, "delete")
    scopes.require(ctx, resource_type, "delete")
    match = single_match(server, session, ctx, resource_type, parse_condition(condition))
    if match is None:
        return Result(204)
    current = store.read_current(session, server.sealer, resource_type, match.id, for_update=True)
    assert current is not None
    return interactions.delete_current(server, session, ctx, definition, current)
