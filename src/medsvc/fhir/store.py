"""The versioned resource store: a version as it holds it (Stored), read by id, by version or
by primary keys, and written with the current row, every version and the search index in step.
Reads and writes take the engine's sealer; services here only execute statements.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    false,
    func,
    insert,
    select,
    update,
)

from medsvc import clock
from medsvc.clock import utc
from medsvc.fhir import driver_reads, jsonio, pending, sealing
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.definitions import ResourceDefinition
from medsvc.fhir.indexing import replace_index
from medsvc.fhir.sealing import Place, Sealer
from medsvc.fhir.tables import ResourceRow, ResourceVersion

RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
R = RESOURCE.c
CURRENT_COLUMNS = (R.pk, R.resource_type, R.id, R.version_id, R.last_updated, R.deleted, R.content)
# The reads by id and by keys, built once: they are on the hot path of every read.
BY_TYPE_AND_ID = select(*CURRENT_COLUMNS).where(
    R.resource_type == bindparam("resource_type"), R.id == bindparam("resource_id")
)
_NOT_DELETED = select(*CURRENT_COLUMNS).where(R.deleted == false())
VERSION = ResourceVersion.__table__  # type: ignore[attr-defined]
V = VERSION.c
VERSION_COLUMNS = (
    V.resource_pk.label("pk"),
    V.resource_type,
    V.id,
    V.version_id,
    V.last_updated,
    V.deleted,
    V.content,
)


@dataclass(frozen=True)
class Stored:
    """One version of a resource; content (its JSON, opened if stored sealed) is None for a
    delete."""

    pk: int
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    deleted: bool
    content: bytes | None

    @property
    def etag(self) -> str:
        return f'W/"{self.version_id}"'

    def url(self, base_url: str) -> str:
        return f"{base_url}/{self.resource_type}/{self.id}"

    def location(self, base_url: str) -> str:
        return f"{self.url(base_url)}/_history/{self.version_id}"


# A row's columns in CURRENT_COLUMNS' order, the instant aware and the content as stored.
_Fields = tuple[int, str, str, int, datetime, bool, bytes | None]


def _made(session: Connection, sealer: Sealer | None, rows: list[_Fields]) -> list[Stored]:
    """Versions from their rows, the sealed contents opened together (a search opens tens of
    one patient's records)."""
    stored = [(Place(r[1], r[2], r[3]), r[6]) for r in rows if r[6] is not None]
    contents = iter(sealing.opened_all(session, sealer, stored))
    return [Stored(*r[:6], None if r[6] is None else next(contents)) for r in rows]


def _as_bytes(content: Any) -> bytes | None:
    return content.tobytes() if isinstance(content, memoryview) else content


def from_rows(session: Connection, sealer: Sealer | None, rows: Sequence[Any]) -> list[Stored]:
    """Versions from rows of CURRENT_COLUMNS or VERSION_COLUMNS."""
    return _made(
        session,
        sealer,
        [
            (
                r.pk,
                r.resource_type,
                r.id,
                r.version_id,
                utc(r.last_updated),
                r.deleted,
                _as_bytes(r.content),
            )
            for r in rows
        ],
    )


def from_row(session: Connection, sealer: Sealer | None, row: Any) -> Stored:
    return from_rows(session, sealer, [row])[0]


def _from_driver_rows(
    session: Connection, sealer: Sealer | None, rows: Sequence[tuple[Any, ...]]
) -> list[Stored]:
    """Rows of CURRENT_COLUMNS as the DBAPI driver gives them, without SQLAlchemy's types."""
    return _made(session, sealer, [_driver_fields(row) for row in rows])


def _driver_fields(row: tuple[Any, ...]) -> _Fields:
    pk, resource_type, resource_id, version_id, last_updated, deleted, content = row
    if isinstance(last_updated, str):  # SQLite keeps instants as ISO text
        last_updated = datetime.fromisoformat(last_updated)
    return (
        pk,
        resource_type,
        resource_id,
        version_id,
        utc(last_updated),
        bool(deleted),
        _as_bytes(content),
    )


def read_current(
    session: Connection,
    sealer: Sealer | None,
    resource_type: str,
    resource_id: str,
    *,
    visible: ColumnElement[bool] | None = None,
    for_update: bool = False,
) -> Stored | None:
    if visible is None and not for_update:
        rows = driver_reads.rows_by_id(session, BY_TYPE_AND_ID, resource_type, resource_id)
        return _from_driver_rows(session, sealer, rows)[0] if rows else None
    query = BY_TYPE_AND_ID
    if visible is not None:
        query = query.where(visible)
    if for_update:
        query = query.with_for_update()
    params = {"resource_type": resource_type, "resource_id": resource_id}
    row = session.execute(query, params).first()
    return from_row(session, sealer, row) if row else None


def read_version(
    session: Connection, sealer: Sealer | None, current: Stored, version_id: int
) -> Stored | None:
    pending.flush(session)
    row = session.execute(
        select(*VERSION_COLUMNS).where(V.resource_pk == current.pk, V.version_id == version_id)
    ).first()
    return from_row(session, sealer, row) if row else None


def read_many(session: Connection, sealer: Sealer | None, pks: list[int]) -> dict[int, Stored]:
    """The current versions of these rows that are not deleted (one may have been deleted
    since the caller found it: reads do not hold one snapshot on every database)."""
    if not pks:
        return {}
    rows = driver_reads.rows_by_keys(session, _NOT_DELETED, pks)
    return {stored.pk: stored for stored in _from_driver_rows(session, sealer, rows)}


def stamp(
    resource: dict[str, Any], resource_id: str, version_id: int, last_updated: datetime
) -> dict[str, Any]:
    """The resource as stored: server-assigned id, versionId and lastUpdated, the rest as sent."""
    meta = {
        k: v
        for k, v in (resource.get("meta") or {}).items()
        if k not in ("versionId", "lastUpdated")
    }
    stamped: dict[str, Any] = {
        "resourceType": resource["resourceType"],
        "id": resource_id,
        "meta": {"versionId": str(version_id), "lastUpdated": format_instant(last_updated), **meta},
    }
    stamped.update((k, v) for k, v in resource.items() if k not in ("resourceType", "id", "meta"))
    return stamped


# Statements built once against the tables: writes are on the hot path of every transaction.
_INSERT_RESOURCE = insert(RESOURCE).returning(R.pk)
_INSERT_VERSION = insert(VERSION)
_UPDATE_RESOURCE = update(RESOURCE).where(R.pk == bindparam("current_pk"))


def _record_version(
    session: Connection, stored: Stored, method: str, written: bytes | None
) -> None:
    row = {
        "resource_pk": stored.pk,
        "resource_type": stored.resource_type,
        "id": stored.id,
        "version_id": stored.version_id,
        "last_updated": stored.last_updated,
        "deleted": stored.deleted,
        "method": method,
        "content": written,
    }
    pending.insert(session, _INSERT_VERSION, [row])


def insert_resource(
    session: Connection,
    sealer: Sealer | None,
    definition: ResourceDefinition,
    resource_id: str,
    resource: dict[str, Any],
    base_url: str,
    owner: str | None = None,
) -> Stored:
    now = clock.now()
    stamped = stamp(resource, resource_id, 1, now)
    content = jsonio.dumps(stamped)
    place = Place(definition.type, resource_id, 1)
    written = sealing.seal(session, sealer, definition, place, stamped, content)
    row = {
        "resource_type": definition.type,
        "id": resource_id,
        "version_id": 1,
        "last_updated": now,
        "deleted": False,
        "content": written,
        "owner": owner,
    }
    pk = session.execute(_INSERT_RESOURCE, row).scalar_one()
    stored = Stored(pk, definition.type, resource_id, 1, now, False, content)
    _record_version(session, stored, "POST", written)
    replace_index(session, definition, pk, stamped, base_url, existing=False)
    return stored


def add_version(
    session: Connection,
    sealer: Sealer | None,
    definition: ResourceDefinition,
    current: Stored,
    resource: dict[str, Any] | None,
    method: str,
    base_url: str,
) -> Stored:
    """Writes the next version of an existing row; resource None records a delete."""
    now = max(clock.now(), current.last_updated)
    version_id = current.version_id + 1
    stamped = stamp(resource, current.id, version_id, now) if resource is not None else None
    content = jsonio.dumps(stamped) if stamped is not None else None
    written = None
    if stamped is not None and content is not None:
        place = Place(current.resource_type, current.id, version_id)
        written = sealing.seal(session, sealer, definition, place, stamped, content)
    values = {
        "current_pk": current.pk,
        "version_id": version_id,
        "last_updated": now,
        "deleted": stamped is None,
        "content": written,
    }
    session.execute(_UPDATE_RESOURCE, values)
    stored = Stored(
        current.pk, current.resource_type, current.id, version_id, now, stamped is None, content
    )
    _record_version(session, stored, method, written)
    previous = jsonio.loads_stored(current.content) if current.content is not None else None
    replace_index(
        session,
        definition,
        current.pk,
        stamped,
        base_url,
        existing=not current.deleted,
        previous=previous,
    )
    return stored


def same_content(current: Stored, resource: dict[str, Any]) -> bool:
    """True when an update would store exactly what is already there, apart from meta."""
    if current.content is None:
        return False
    stored = jsonio.loads_stored(current.content)
    as_sent = stamp(resource, current.id, current.version_id, current.last_updated)
    return jsonio.dumps(as_sent) == jsonio.dumps(stored)


def erase_sealed(
    session: Connection, resource_types: Collection[str], prefix: bytes
) -> dict[str, int]:
    """Deletes every stored version of the types whose record starts with prefix (sealed under
    one data key), and every resource whose current version does, with its versions and index
    rows; returns how many resources of each type were deleted."""
    theirs = (func.substr(R.content, 1, len(prefix)) == prefix, R.resource_type.in_(resource_types))
    counted = session.execute(
        select(R.resource_type, func.count()).where(*theirs).group_by(R.resource_type)
    ).all()
    session.execute(
        delete(VERSION).where(
            func.substr(V.content, 1, len(prefix)) == prefix, V.resource_type.in_(resource_types)
        )
    )
    session.execute(delete(RESOURCE).where(*theirs))  # versions and index rows cascade
    return {resource_type: int(count) for resource_type, count in counted}
