"""A resource version as the store holds it, the columns it is read from, and how one is made
from a row (its content opened, when sealed)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from medsvc.clock import utc
from medsvc.fhir.sealing import Place, opened
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


def _content(
    session: Connection, resource_type: str, resource_id: str, version_id: int, content: Any
) -> bytes | None:
    if content is None:
        return None
    if isinstance(content, memoryview):
        content = content.tobytes()
    return opened(session, Place(resource_type, resource_id, version_id), content)


def from_row(session: Connection, row: Any) -> Stored:
    content = _content(session, row.resource_type, row.id, row.version_id, row.content)
    return Stored(
        row.pk,
        row.resource_type,
        row.id,
        row.version_id,
        utc(row.last_updated),
        row.deleted,
        content,
    )


def from_driver_row(session: Connection, row: tuple[Any, ...]) -> Stored:
    """A row of CURRENT_COLUMNS as the DBAPI driver gives it, without SQLAlchemy's types."""
    pk, resource_type, resource_id, version_id, last_updated, deleted, content = row
    if isinstance(last_updated, str):  # SQLite keeps instants as ISO text
        last_updated = datetime.fromisoformat(last_updated)
    content = _content(session, resource_type, resource_id, version_id, content)
    return Stored(
        pk, resource_type, resource_id, version_id, utc(last_updated), bool(deleted), content
    )
