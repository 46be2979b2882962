"""SMART Scheduling Links publication: the public `$bulk-publish` manifest and the NDJSON files
of Locations, Schedules and upcoming Slots, from which aggregators show availability."""

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    or_,
    select,
)
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from medsvc import clock
from medsvc.db import Database
from medsvc.fhir import index, jsonio
from medsvc.fhir.datetimes import format_instant, to_micros
from medsvc.fhir.index import RESOURCE
from medsvc.kit.executors import in_thread

MANIFEST = "/fhir/$bulk-publish"  # the specification: the manifest URL ends with $bulk-publish
NDJSON = "application/fhir+ndjson"
# Clients SHOULD NOT poll more than once a minute, and publishers SHOULD hint their preferred
# polling interval with max-age (SMART Scheduling Links, "Performance Considerations"). The
# files hold only the public directory, so shared caches may keep them too.
CACHE_CONTROL = "public, max-age=60"
BATCH = 1000  # rows per read: the Slot file may hold a million lines and is never held whole
TOKEN = index.TOKEN
DATE = index.DATE
REF = index.REFERENCE
STRING = index.STRING
R = RESOURCE.c
V = index.RESOURCE_VERSION.c
Conditions = list[ColumnElement[bool]]
# What a published Schedule's actors may be: entries of the public directory, never a patient
# or anything else a public file must not name.
PUBLIC_ACTOR_TYPES = (
    "HealthcareService",
    "Location",
    "Organization",
    "Practitioner",
    "PractitionerRole",
)


def _current(resource: FromClause, resource_type: str) -> Conditions:
    return [resource.c.resource_type == resource_type, resource.c.deleted == false()]


def published_locations(location: FromClause, _now: int = 0) -> Conditions:
    # A suspended or inactive location takes no appointments; one without a status is open.
    closed = index.probe(
        TOKEN, location.c.pk, "status", lambda t: t.code.in_(("suspended", "inactive"))
    )
    return [*_current(location, "Location"), ~closed]


def published_schedules(schedule: FromClause, _now: int = 0) -> Conditions:
    """Schedules in use whose actors are all public directory entries: a schedule naming a
    patient, a device or a reference we cannot resolve would put it in a public file."""
    retired = index.probe(TOKEN, schedule.c.pk, "active", lambda t: t.code == "false")
    private = index.probe(
        REF,
        schedule.c.pk,
        "actor",
        lambda a: or_(a.target_type.is_(None), a.target_type.not_in(PUBLIC_ACTOR_TYPES)),
    )
    return [*_current(schedule, "Schedule"), ~retired, ~private]


def published_slots(slot: FromClause, now: int) -> Conditions:
    """Slots starting from now, busy ones included (the specification: publishers SHOULD, to
    show capacity); past slots are of no use to an aggregator. Their schedule must be
    published too: see File.parent."""
    return [
        *_current(slot, "Slot"),
        index.probe(DATE, slot.c.pk, "start", lambda d: d.low >= now),
        ~index.probe(TOKEN, slot.c.pk, "status", lambda t: t.code == "entered-in-error"),
    ]


@dataclass(frozen=True)
class File:
    """One NDJSON file: which rows it holds, and what its content depends on besides time."""

    resource_type: str
    where: Callable[[FromClause, int], Conditions]
    depends_on: tuple[str, ...]
    # (search parameter, type) of a reference whose target must be in that type's file. The
    # few published targets are read once per file and the reference checked in Python: as
    # a probe of each row, the Slot file took 1.6 times as long on PostgreSQL.
    parent: tuple[str, str] | None = None


FILES = {
    "Location": File("Location", published_locations, ("Location",)),
    "Schedule": File("Schedule", published_schedules, ("Schedule",)),
    "Slot": File("Slot", published_slots, ("Slot", "Schedule"), ("schedule", "Schedule")),
}


def published_ids(database: Database, file: File, now: int) -> frozenset[str]:
    """The ids of every resource in the file (meant for the small ones: a few thousand)."""
    query = select(R.id).where(*file.where(RESOURCE, now))
    with database.session(write=False) as connection:
        return frozenset(connection.execute(query).scalars())


def _target_id(resource: FromClause, param: str, target_type: str) -> Any:
    ref = REF.alias()
    return (
        select(ref.c.target_id)
        .where(
            ref.c.resource_pk == resource.c.pk,
            ref.c.param == param,
            ref.c.target_type == target_type,
        )
        .limit(1)
        .scalar_subquery()
    )


def read_page(
    database: Database,
    file: File,
    now: int,
    after: str,
    parents: frozenset[str] = frozenset(),
    size: int = BATCH,
) -> list[tuple[str, bytes | None]]:
    """The next `size` rows of the file's type after the id `after`, in id order, as (id,
    stored JSON); the JSON is None for a row the file leaves out (deleted, past, retired,
    or whose parent is not among `parents`).

    Keyset pagination on the unique (resource_type, id) index. The file's conditions are
    probed only on the page's rows, so each page costs the same on both databases, however
    many rows come before it or are left out; filtered in the WHERE clause, PostgreSQL would
    rather read every Slot and sort them, for each page. Each page is its own read, so a
    slow client holds no connection between pages.
    """
    published = case((and_(*file.where(RESOURCE, now)), R.content), else_=None)
    parent = _target_id(RESOURCE, *file.parent) if file.parent else literal(None)
    query = (
        select(R.id, published, parent)
        .where(R.resource_type == file.resource_type, R.id > after)
        .order_by(R.id)
        .limit(size)
    )
    with database.session(write=False) as connection:
        rows = connection.execute(query).all()
    return [
        (row_id, None if content is None or (file.parent and target not in parents) else content)
        for row_id, content, target in rows
    ]


def _tally(resource_type: str) -> Select[int, Any]:
    # Every committed write of the type adds a version row, so their number grows with each
    # one, whatever order transactions commit in (a newest timestamp or key alone would miss
    # a write that commits after a later one). Counted from the (resource_type, pk) index.
    return select(func.count(), func.max(V.pk)).where(V.resource_type == resource_type)


def _next_start(now: int) -> Select[Any]:
    # Without writes, the Slot file changes only when a slot's start passes: exactly when the
    # earliest start from now on changes. One seek in the (resource_type, param, low) index.
    return select(func.min(DATE.c.low)).where(
        DATE.c.resource_type == "Slot", DATE.c.param == "start", DATE.c.low >= now
    )


def file_etag(database: Database, file: File, now: int) -> str:
    """A weak ETag that changes whenever the file's content would."""
    with database.session(write=False) as connection:
        parts: list[Any] = [tuple(_one(connection, _tally(t))) for t in file.depends_on]
        if file.resource_type == "Slot":
            parts.append(_one(connection, _next_start(now))[0])
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:24]
    return f'W/"{digest}"'


def _one(connection: Connection, query: Select[Any] | Select[int, Any]) -> Any:
    return connection.execute(query).one()


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match by weak comparison (RFC 9110 13.1.2)."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag.removeprefix("W/") in tags


async def _lines(request: Request, file: File, now: int) -> AsyncIterator[bytes]:
    # The stored bytes are orjson's, minified and without a raw newline, as NDJSON needs; they
    # are served as stored, never re-serialised.
    database: Database = request.app.state.database
    parents: frozenset[str] = frozenset()
    if file.parent:
        parents = await in_thread(
            request, "read", published_ids, database, FILES[file.parent[1]], now
        )
    after = ""
    while True:
        rows = await in_thread(request, "read", read_page, database, file, now, after, parents)
        lines = [bytes(content) + b"\n" for _id, content in rows if content is not None]
        if lines:
            yield b"".join(lines)
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


async def serve_file(request: Request, file: File) -> Response:
    """One NDJSON file, the same whatever the Accept header (the specification: none and
    application/fhir+ndjson SHALL both work). `_since` is ignored, as servers may."""
    now = to_micros(clock.now())
    etag = await in_thread(request, "read", file_etag, request.app.state.database, file, now)
    headers = {"Cache-Control": CACHE_CONTROL, "ETag": etag}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return StreamingResponse(_lines(request, file, now), headers=headers, media_type=NDJSON)


def address_states(database: Database) -> list[str]:
    """The states in the published Locations' addresses, the manifest's hint to clients."""
    location = RESOURCE.alias("location")
    state = STRING.alias("state")
    query = (
        select(state.c.value_exact)
        .distinct()
        .join(location, location.c.pk == state.c.resource_pk)
        .where(state.c.resource_type == "Location", state.c.param == "address-state")
        .where(*published_locations(location))
        .order_by(state.c.value_exact)
    )
    with database.session(write=False) as connection:
        return list(connection.execute(query).scalars())


async def serve_manifest(request: Request) -> Response:
    """The Bulk Publication Manifest, application/json whatever the Accept header."""
    published = format_instant(clock.now())  # taken first: the files are at least this fresh
    states = await in_thread(request, "read", address_states, request.app.state.database)
    base = f"{request.app.state.settings.base_url}/$bulk-publish"
    output = [
        {"type": name, "url": f"{base}/{name}.ndjson", "extension": {"state": states}}
        for name in FILES
    ]
    body = {"transactionTime": published, "request": base, "output": output, "error": []}
    return Response(
        jsonio.dumps(body),
        media_type="application/json",
        headers={"Cache-Control": CACHE_CONTROL},
    )


# Public, without a token (the specification: endpoints SHOULD be open), and so added before
# the FHIR endpoint, which demands one. They serve only Location, Schedule and Slot, the
# public directory, never patient data: their reads are not recorded in the audit trail.
ROUTES = [
    Route(MANIFEST, serve_manifest, methods=["GET"]),
    *[
        Route(f"{MANIFEST}/{name}.ndjson", partial(serve_file, file=file), methods=["GET"])
        for name, file in FILES.items()
    ],
]
