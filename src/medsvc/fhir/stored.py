"""A resource version as the store holds it, the columns it is read from, and how one is made
from a row (its content opened, when sealed)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from medsvc.clock import utc
from medsvc.fhir.sealing import Place, opened_all
from medsvc.fhir.tables import ResourceRow

RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
R = RESOURCE.c
CURRENT_COLUMNS = (R.pk, R.resource_type, R.id, R.version_id, R.last_updated, R.deleted, R.content)
# The read by id, built once: it is on the hot path of every read.
BY_TYPE_AND_ID = select(*CURRENT_COLUMNS).where(
    R.resource_type == bindparam("resource_type"), R.id == bindparam("resource_id")
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


def _made(session: Connection, rows: list[_Fields]) -> list[Stored]:
    """Versions from their rows, the sealed contents opened together (a search opens tens of
    one patient's records)."""
    stored = [(Place(r[1], r[2], r[3]), r[6]) for r in rows if r[6] is not None]
    contents = iter(opened_all(session, stored))
    return [Stored(*r[:6], None if r[6] is None else next(contents)) for r in rows]


def _as_bytes(content: Any) -> bytes | None:
    return content.tobytes() if isinstance(content, memoryview) else content


def from_rows(session: Connection, rows: Sequence[Any]) -> list[Stored]:
    return _made(
        session,
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


def from_row(session: Connection, row: Any) -> Stored:
    return from_rows(session, [row])[0]


def from_driver_rows(session: Connection, rows: Sequence[tuple[Any, ...]]) -> list[Stored]:
    """Rows of CURRENT_COLUMNS as the DBAPI driver gives them, without SQLAlchemy's types."""
    return _made(session, [_driver_fields(row) for row in rows])


def from_driver_row(session: Connection, row: tuple[Any, ...]) -> Stored:
    return from_driver_rows(session, [row])[0]


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
