"""The store's hottest reads, by id and by primary keys, straight through the DBAPI driver.

SQLAlchemy's execution and result layers cost several times a primary-key lookup in a local
SQLite file, or a psycopg round trip. The SQL is compiled once per database from the Core
statement; only the key list is dialect-specific, so that one statement serves any number
of keys.
"""

import json
from typing import Any

from sqlalchemy import Connection, Select

# The primary keys as one parameter: a JSON array on SQLite, an array on PostgreSQL.
_KEY_LIST = {
    "sqlite": " AND resource.pk IN (SELECT value FROM json_each(?))",
    "postgresql": " AND resource.pk = ANY(%(pks)s)",
}
_COMPILED: dict[tuple[str, Select[Any], str], tuple[str, bool]] = {}


def rows_by_id(
    session: Connection, statement: Select[Any], resource_type: str, resource_id: str
) -> list[tuple[Any, ...]]:
    """The rows of a statement that binds resource_type and resource_id, as the driver gives
    them."""
    sql, positional = _compiled(session, statement, "")
    params: Any = (
        (resource_type, resource_id)
        if positional
        else {"resource_type": resource_type, "resource_id": resource_id}
    )
    return _fetch(session, sql, params)


def rows_by_keys(
    session: Connection, statement: Select[Any], pks: list[int]
) -> list[tuple[Any, ...]]:
    """The rows of a statement on the resource table whose primary key is one of pks."""
    sql, positional = _compiled(session, statement, _KEY_LIST[session.dialect.name])
    params: Any = (json.dumps(pks),) if positional else {"pks": pks}
    return _fetch(session, sql, params)


def _fetch(session: Connection, sql: str, params: Any) -> list[tuple[Any, ...]]:
    cursor = session.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _compiled(session: Connection, statement: Select[Any], suffix: str) -> tuple[str, bool]:
    """The SQL text of a statement for this database, and whether it binds by position."""
    dialect = session.dialect
    key = (dialect.name, statement, suffix)
    if key not in _COMPILED:
        compiled = statement.compile(dialect=dialect)
        _COMPILED[key] = (str(compiled) + suffix, compiled.positional)
    return _COMPILED[key]
