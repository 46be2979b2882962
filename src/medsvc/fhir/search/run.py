"""Runs a parsed search: the page of matches, the total, and the _include/_revinclude set."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, false, func, or_, select, true

from medsvc.fhir import pending, store
from medsvc.fhir.search.params import Include, QueryParser, SearchRequest
from medsvc.fhir.search.sql import RESOURCE, Compiler, sort_key
from medsvc.fhir.server import FhirServer
from medsvc.fhir.store import Stored
from medsvc.fhir.tables import SearchReference
from medsvc.security.context import AuthContext

MAX_INCLUDE_DEPTH = 4  # :iterate stops here even if the graph goes deeper
REF = SearchReference.__table__  # type: ignore[attr-defined]


@dataclass
class Page:
    matches: list[Stored]
    included: list[Stored] = field(default_factory=list)
    total: int | None = None
    has_next: bool = False
    snapshot: int = 0


def parse(
    server: FhirServer,
    resource_type: str,
    pairs: list[tuple[str, str]],
    *,
    strict: bool,
    interaction: str = "search-type",
) -> SearchRequest:
    server.definition(resource_type, interaction)
    return QueryParser(
        server.definitions,
        resource_type,
        strict=strict,
        default_count=server.default_page_size,
        max_count=server.max_page_size,
        limits=server.limits,
    ).parse(pairs)


def run(server: FhirServer, session: Connection, ctx: AuthContext, request: SearchRequest) -> Page:
    pending.flush(session)
    compiler = server.compiler(ctx)
    where = compiler.where(request.resource_type, request.criteria)
    snapshot = request.snapshot
    if snapshot is None:
        snapshot = session.execute(select(func.coalesce(func.max(RESOURCE.c.pk), 0))).scalar_one()
    where.append(RESOURCE.c.pk <= snapshot)  # later additions do not shift the pages
    if request.summary_count or request.count == 0:
        return Page([], total=_count(session, where), snapshot=snapshot)
    # The matches are found first, on their own, then counted and ordered. Planned as one
    # query, ORDER BY pk LIMIT n lures PostgreSQL into walking the primary key and filtering
    # row by row, which is slow whenever the matches are few and far between.
    matching = (
        select(RESOURCE.c.pk, RESOURCE.c.id)
        .where(*where)
        .cte("matches")
        .prefix_with("MATERIALIZED")
    )
    order: list[Any] = []
    for key, descending in request.sort:
        order += sort_key(key, descending, matching.c)
    rows = session.execute(
        select(matching.c.pk, func.count().over().label("total"))
        .order_by(*order, matching.c.pk)
        .limit(request.count + 1)
        .offset(request.offset)
    ).all()
    has_next = len(rows) > request.count
    total = rows[0].total if rows else _count(session, where)
    found = store.read_many(session, server.sealer, [row.pk for row in rows[: request.count]])
    matches = [found[row.pk] for row in rows[: request.count] if row.pk in found]
    page = Page(
        matches, total=total if request.total else None, has_next=has_next, snapshot=snapshot
    )
    page.included = _includes(server, session, ctx, request, matches)
    return page


def _count(session: Connection, where: list[Any]) -> int:
    return int(
        session.execute(select(func.count()).select_from(RESOURCE).where(*where)).scalar_one()
    )


def find_matches(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    pairs: list[tuple[str, str]],
    limit: int = 2,
    *,
    identify: bool = False,
) -> list[Stored]:
    """Resources meeting a condition (conditional create/update/delete, references).

    identify: the condition names a resource to create unless it exists, or to refer to
    (If-None-Exist, a conditional reference); a hospital may then find a patient outside its
    view by exact identifier when an identification hook allows it, which then runs on the
    one match (a hospital's view then includes the patient).
    """
    pending.flush(session)
    # A condition names one resource (to write, or to refer to); it is no search of the
    # caller's, so it also applies to a type that clients may not search (Binary).
    request = parse(server, resource_type, pairs, strict=True, interaction="read")
    compiler = server.compiler(ctx)
    identified = (
        server.registry.identification(ctx, resource_type, request.criteria) if identify else None
    )
    if identified is not None:
        compiler = Compiler(server.base_url, lambda _type, _resource: None)
    where = compiler.where(resource_type, request.criteria)
    rows = session.execute(
        select(*store.CURRENT_COLUMNS).where(*where).order_by(RESOURCE.c.pk).limit(limit)
    ).all()
    found = store.from_rows(session, server.sealer, rows)
    if identified is not None and len(found) == 1:
        identified(session, found[0])
    return found


def _includes(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: SearchRequest,
    matches: list[Stored],
) -> list[Stored]:
    if not (request.include or request.revinclude) or not matches:
        return []
    seen = {m.pk for m in matches}
    included: list[Stored] = []
    frontier = matches
    for depth in range(MAX_INCLUDE_DEPTH):
        includes = [i for i in request.include if depth == 0 or i.iterate]
        revincludes = [i for i in request.revinclude if depth == 0 or i.iterate]
        found = [s for i in includes for s in _forward(server, session, ctx, i, frontier)]
        found += [s for i in revincludes for s in _reverse(server, session, ctx, i, frontier)]
        frontier = []
        for stored in found:
            if stored.pk not in seen:
                seen.add(stored.pk)
                frontier.append(stored)
        included += frontier
        if not frontier:
            break
    return included


def _visible(server: FhirServer, ctx: AuthContext, types: Sequence[str]) -> Any:
    """Included resources of these types pass the same read filter as matches, type by
    type; a caller with a read filter gets no resource of another type."""
    conditions: list[Any] = [RESOURCE.c.deleted == false()]
    if len(types) == 1:
        conditions.append(RESOURCE.c.resource_type == types[0])
    filters = {t: server.registry.read_filter(ctx, t, RESOURCE) for t in types}
    if any(f is not None for f in filters.values()):
        conditions.append(
            or_(
                *[
                    and_(RESOURCE.c.resource_type == t, f if f is not None else true())
                    for t, f in filters.items()
                ]
            )
        )
    return and_(*conditions)


def _targets(server: FhirServer, include: Include) -> list[str]:
    """The types an _include can bring: the one it names, else those its parameter may refer
    to (DiagnosticReport:result, Observations), else any. Each type's read filter is built
    into the statement, so naming only these keeps it small."""
    if include.target_type:
        return [include.target_type]
    declared = [t for t in include.param.targets if t in server.definitions.resources]
    return declared or list(server.definitions.resources)


def _forward(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    include: Include,
    sources: list[Stored],
) -> list[Stored]:
    pks = [s.pk for s in sources if s.resource_type == include.source_type]
    if not pks:
        return []
    targets = (
        select(RESOURCE.c.pk)
        .join(
            REF,
            and_(RESOURCE.c.resource_type == REF.c.target_type, RESOURCE.c.id == REF.c.target_id),
        )
        .where(
            REF.c.resource_pk.in_(pks),
            REF.c.param == include.param.code,
            _visible(server, ctx, _targets(server, include)),
        )
    )
    found = store.read_many(session, server.sealer, list(session.execute(targets).scalars()))
    return list(found.values())


def _reverse(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    include: Include,
    targets: list[Stored],
) -> list[Stored]:
    by_type: dict[str, list[str]] = {}
    for target in targets:
        by_type.setdefault(target.resource_type, []).append(target.id)
    if include.target_type is not None:
        by_type = {include.target_type: by_type.get(include.target_type, [])}
    found: list[Stored] = []
    for target_type, ids in by_type.items():
        if not ids:
            continue
        sources = (
            select(RESOURCE.c.pk)
            .join(REF, REF.c.resource_pk == RESOURCE.c.pk)
            .where(
                REF.c.resource_type == include.source_type,
                REF.c.param == include.param.code,
                REF.c.target_type == target_type,
                REF.c.target_id.in_(ids),
                _visible(server, ctx, [include.source_type]),
            )
        )
        keys = list(session.execute(sources).scalars())
        found += store.read_many(session, server.sealer, keys).values()
    return found
