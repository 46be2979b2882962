"""Rows a worker takes for a while (an outbox's to send): taken by a conditional update, so
two workers never hold one row at once, and let go when the lease ends, so a worker that dies
holding one delays its row by the lease, and loses nothing."""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, or_, update


def free(table: Table, now: datetime) -> ColumnElement[bool]:
    """Rows no worker holds at now (their leased_until has passed, or was never set)."""
    return or_(table.c.leased_until.is_(None), table.c.leased_until <= now)


def take(
    session: Connection,
    table: Table,
    key: Any,
    candidates: list[Any],
    owner: str,
    now: datetime,
    until: datetime,
) -> list[Any]:
    """The candidates (values of the key column) this owner now holds until `until`: those
    no other worker took first."""
    taken = []
    for candidate in candidates:
        result = session.execute(
            update(table)
            .where(key == candidate, free(table, now))
            .values(leased_until=until, lease_owner=owner)
        )
        if result.rowcount == 1:
            taken.append(candidate)
    return taken


RELEASED: dict[str, Any] = {"leased_until": None, "lease_owner": None}
