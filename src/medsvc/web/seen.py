"""Which reports a person has opened in the app, so the list can mark the others "new"."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    String,
    any_,
    bindparam,
    column,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from medsvc.web.tables import WebSeenResult

SEEN = WebSeenResult.__table__  # type: ignore[attr-defined]


def _among(dialect: str) -> ColumnElement[bool]:
    """The resource is one of a list given as one parameter (an array on PostgreSQL, a JSON
    array on SQLite): one statement, compiled once, for a list of any length, where an IN of
    fifty parameters is written out, and converted by the driver, on every page."""
    resource: ColumnElement[str] = SEEN.c.resource
    if dialect == "postgresql":
        return resource == any_(bindparam("among", type_=ARRAY(String)))
    listed: Select[str] = select(column("value", String)).select_from(
        func.json_each(bindparam("among"))
    )
    return resource.in_(listed)


SEEN_AMONG = {
    dialect: select(SEEN.c.resource).where(SEEN.c.fhir_user == bindparam("who"), _among(dialect))
    for dialect in ("sqlite", "postgresql")
}


def seen_among(connection: Connection, fhir_user: str, resources: list[str]) -> set[str]:
    if not resources:
        return set()
    dialect = connection.dialect.name
    among: Any = resources if dialect == "postgresql" else json.dumps(resources)
    found = connection.execute(SEEN_AMONG[dialect], {"who": fhir_user, "among": among})
    return set(found.scalars())


def mark_seen(connection: Connection, fhir_user: str, resource: str, now: datetime) -> None:
    """Once per person and report; a second opening (or two at once) changes nothing."""
    if seen_among(connection, fhir_user, [resource]):
        return
    try:
        with connection.begin_nested():
            connection.execute(
                insert(SEEN).values(fhir_user=fhir_user, resource=resource, seen_at=now)
            )
    except IntegrityError:
        pass
