"""The versioned resource store: the current row, every version, and the search index in step.

Services here only execute statements; the unit of work around them commits.
"""

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, delete, func, insert, select, update

from medsvc import clock
from medsvc.fhir import driver_reads, jsonio, pending, sealing
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.definitions import ResourceDefinition
from medsvc.fhir.indexing import replace_index
from medsvc.fhir.stored import (
    BY_TYPE_AND_ID,
    CURRENT_COLUMNS,
    RESOURCE,
    Stored,
    from_row,
    from_rows,
)
from medsvc.fhir.tables import ResourceVersion

# importable from here too
__all__ = ["CURRENT_COLUMNS", "RESOURCE", "Stored", "from_row", "from_rows"]


R = RESOURCE.c
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


def read_current(
    session: Connection,
    resource_type: str,
    resource_id: str,
    *,
    visible: ColumnElement[bool] | None = None,
    for_update: bool = False,
) -> Stored | None:
    if visible is None and not for_update:
        return driver_reads.read_current(session, resource_type, resource_id)
    query = BY_TYPE_AND_ID
    if visible is not None:
        query = query.where(visible)
    if for_update:
        query = query.with_for_update()
    params = {"resource_type": resource_type, "resource_id": resource_id}
    row = session.execute(query, params).first()
    return from_row(session, row) if row else None


def read_version(session: Connection, current: Stored, version_id: int) -> Stored | None:
    pending.flush(session)
    row = session.execute(
        select(*VERSION_COLUMNS).where(V.resource_pk == current.pk, V.version_id == version_id)
    ).first()
    return from_row(session, row) if row else None


def read_many(session: Connection, pks: list[int]) -> dict[int, Stored]:
    """The current versions of these rows that are not deleted (one may have been deleted
    since the caller found it: reads do not hold one snapshot on every database)."""
    return driver_reads.read_many(session, pks) if pks else {}


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
    definition: ResourceDefinition,
    resource_id: str,
    resource: dict[str, Any],
    base_url: str,
    owner: str | None = None,
) -> Stored:
    now = clock.now()
    stamped = stamp(resource, resource_id, 1, now)
    content = jsonio.dumps(stamped)
    place = sealing.Place(definition.type, resource_id, 1)
    written = sealing.seal(session, definition, place, stamped, content)
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
        place = sealing.Place(current.resource_type, current.id, version_id)
        written = sealing.seal(session, definition, place, stamped, content)
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
