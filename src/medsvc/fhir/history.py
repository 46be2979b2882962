"""The history interactions (http.html#history): every version of one resource or one type."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, func, select

from medsvc import clock
from medsvc.errors import NotFound
from medsvc.fhir import jsonio, pending
from medsvc.fhir.answers import Result
from medsvc.fhir.datetimes import format_instant, parse_instant
from medsvc.fhir.search.params import parse_count, parse_cursor
from medsvc.fhir.server import FhirServer
from medsvc.fhir.store import RESOURCE, VERSION, VERSION_COLUMNS, V, from_row
from medsvc.security import scopes
from medsvc.security.context import AuthContext

_STATUS = {"POST": "201 Created", "PUT": "200 OK", "PATCH": "200 OK", "DELETE": "204 No Content"}


@dataclass
class HistoryPage:
    count: int
    offset: int = 0
    snapshot: int | None = None
    since_text: str | None = None
    since: datetime | None = None


def _paging(server: FhirServer, pairs: list[tuple[str, str]]) -> HistoryPage:
    page = HistoryPage(server.default_page_size)
    for name, value in pairs:
        if name == "_count":
            page.count = parse_count(value, server.max_page_size)
        elif name == "_since":
            page.since_text, page.since = value, parse_instant(value)
        elif name == "_cursor":
            page.offset, page.snapshot = parse_cursor(value)
    return page


def _entry(server: FhirServer, session: Connection, row: Any) -> dict[str, Any]:
    stored = from_row(session, server.sealer, row)
    entry: dict[str, Any] = {"fullUrl": stored.url(server.base_url)}
    if stored.content is not None:
        entry["resource"] = jsonio.raw(stored.content)
    url = stored.resource_type if row.method == "POST" else f"{stored.resource_type}/{stored.id}"
    entry["request"] = {"method": row.method, "url": url}
    entry["response"] = {
        "status": _STATUS[row.method],
        "etag": stored.etag,
        "lastModified": format_instant(stored.last_updated),
    }
    return entry


def history(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    resource_id: str | None,
    pairs: list[tuple[str, str]],
) -> Result:
    level = "history-instance" if resource_id else "history-type"
    server.definition(resource_type, level)
    scopes.require(ctx, resource_type, "read")
    page = _paging(server, pairs)
    pending.flush(session)
    where = [V.resource_type == resource_type]
    if resource_id is not None:
        where.append(RESOURCE.c.id == resource_id)
    visible = server.registry.read_filter(ctx, resource_type, RESOURCE)
    if visible is not None:
        where.append(visible)
    if page.since is not None:
        where.append(V.last_updated >= page.since)
    snapshot = page.snapshot
    if snapshot is None:
        snapshot = session.execute(select(func.coalesce(func.max(V.pk), 0))).scalar_one()
    where.append(V.pk <= snapshot)
    joined = VERSION.join(RESOURCE, RESOURCE.c.pk == V.resource_pk)
    total = session.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    if resource_id is not None and total == 0:
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    rows = session.execute(
        select(
            *VERSION_COLUMNS,
            V.method,
        )
        .select_from(joined)
        .where(*where)
        .order_by(V.pk.desc())
        .limit(page.count + 1)
        .offset(page.offset)
    ).all()
    return Result(
        200, body=_bundle(server, session, resource_type, resource_id, page, snapshot, total, rows)
    )


def _bundle(
    server: FhirServer,
    session: Connection,
    resource_type: str,
    resource_id: str | None,
    page: HistoryPage,
    snapshot: int,
    total: int,
    rows: Sequence[Any],
) -> bytes:
    path = f"{server.base_url}/{resource_type}" + (f"/{resource_id}" if resource_id else "")
    base_pairs = [("_count", str(page.count))]
    if page.since_text is not None:
        base_pairs.append(("_since", page.since_text))

    def link(relation: str, offset: int) -> dict[str, str]:
        query = urlencode([*base_pairs, ("_cursor", f"{offset}.{snapshot}")])
        return {"relation": relation, "url": f"{path}/_history?{query}"}

    count, offset = page.count, page.offset
    links = [link("self", offset)]
    if len(rows) > count:
        links.append(link("next", offset + count))
    if offset > 0:
        links.append(link("previous", max(0, offset - count)))
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(clock.now())},
        "type": "history",
        "total": total,
        "link": links,
    }
    if rows:
        bundle["entry"] = [_entry(server, session, row) for row in rows[:count]]
    return jsonio.dumps(bundle)
