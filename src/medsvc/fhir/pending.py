"""Rows a unit of work writes in bulk: held while a batched block runs, then written with one
statement per table.

A transaction Bundle of fifty resources would otherwise send a version row and several index
rows per resource, each its own statement. Only rows that nothing reads back by primary key
wait here (versions, search index); whatever reads their tables calls flush() first, so the
unit of work always sees what it wrote.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Insert

Row = dict[str, Any]
_KEY = "medsvc.pending_rows"  # in the connection's info while a batched block runs


@contextmanager
def batched(session: Connection) -> Iterator[None]:
    """Within the block, add() holds rows; they are written when it ends, or earlier by flush().
    If the block raises, the held rows are dropped with the rest of the unit of work."""
    session.info[_KEY] = {}
    try:
        yield
        flush(session)
    finally:
        session.info.pop(_KEY, None)


def insert(session: Connection, statement: Insert, rows: list[Row]) -> None:
    """Inserts the rows now, or holds them while a batched block runs."""
    held: dict[Insert, list[Row]] | None = session.info.get(_KEY)
    if held is None:
        _execute(session, statement, rows)
    else:
        held.setdefault(statement, []).extend(rows)


def flush(session: Connection) -> None:
    """Writes the rows held so far, so that a read of their tables sees them."""
    held: dict[Insert, list[Row]] | None = session.info.get(_KEY)
    if held:
        batches = dict(held)
        held.clear()
        for statement, rows in batches.items():
            _execute(session, statement, rows)


def _execute(session: Connection, statement: Insert, rows: list[Row]) -> None:
    keys = {k for row in rows for k in row}  # executemany needs the same keys in every row
    session.execute(statement, [{k: row.get(k) for k in keys} for row in rows])
