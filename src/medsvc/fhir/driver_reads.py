"""The store's hottest reads, by id and by primary keys, straight through the DBAPI driver.

SQLAlchemy's execution and result layers cost several times a primary-key lookup in a local
SQLite file, or a psycopg round trip. The SQL is compiled once per database from the Core
statement; only the key list is dialect-specific, so that one statement serves any number
of keys.
"""

import json
from typing import Any

from sqlalchemy import Connection, false, select

from medsvc.fhir.stored import (
    BY_TYPE_AND_ID,
    CURRENT_COLUMNS,
    R,
    Stored,
    from_driver_row,
    from_driver_rows,
)

_NOT_DELETED = select(*CURRENT_COLUMNS).where(R.deleted == false())
# The primary keys as one parameter: a JSON array on SQLite, an array on PostgreSQL.
_KEY_LIST = {
    "sqlite": " AND resource.pk IN (SELECT value FROM json_each(?))",
    "postgresql": " AND resource.pk = ANY(%(pks)s)",
}
_COMPILED: dict[tuple[str, str], tuple[str, bool]] = {}


def read_current(session: Connection, resource_type: str, resource_id: str) -> Stored | None:
    sql, positional = _compiled(session, "by_id")
    params: Any = (
        (resource_type, resource_id)
        if positional
        else {"resource_type": resource_type, "resource_id": resource_id}
    )
    rows = _fetch(session, sql, params)
    return from_driver_row(session, rows[0]) if rows else None


def read_many(session: Connection, pks: list[int]) -> dict[int, Stored]:
    """The current, not deleted versions of these rows."""
    sql, positional = _compiled(session, "by_pks")
    params: Any = (json.dumps(pks),) if positional else {"pks": pks}
    return {stored.pk: stored for stored in from_driver_rows(session, _fetch(session, sql, params))}


def _fetch(session: Connection, sql: str, params: Any) -> list[tuple[Any, ...]]:
    cursor = session.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _compiled(session: Connection, name: str) -> tuple[str, bool]:
    """The SQL text of a statement for this database, and whether it binds by position."""
    dialect = session.dialect
    key = (dialect.name, name)
    if key not in _COMPILED:
        statement, suffix = (
            (BY_TYPE_AND_ID, "") if name == "by_id" else (_NOT_DELETED, _KEY_LIST[dialect.name])
        )
        compiled = statement.compile(dialect=dialect)
        _COMPILED[key] = (str(compiled) + suffix, compiled.positional)
    return _COMPILED[key]
