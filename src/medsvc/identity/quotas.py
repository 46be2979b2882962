"""Counters in the database that bound how often a key (a number, an address, an identity)
may ask for something in a fixed window; shared by every process, exact under concurrency:
one conditional UPDATE takes a unit or takes none."""

import math
from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from medsvc.clock import utc
from medsvc.identity.tables import CodeQuota

QUOTA = CodeQuota.__table__  # type: ignore[attr-defined]
_INSERT = {
    "postgresql": postgresql.insert(QUOTA).on_conflict_do_nothing(index_elements=["key"]),
    "sqlite": sqlite.insert(QUOTA).on_conflict_do_nothing(index_elements=["key"]),
}


def take(session: Connection, key: str, limit: int, window: timedelta, now: datetime) -> int | None:
    """Takes one unit of the key's quota: None when taken, else the seconds until its window
    ends. A window starts with the first unit taken after the last one ended."""
    session.execute(_INSERT[session.dialect.name], {"key": key, "window_start": now, "count": 0})
    started = col(CodeQuota.window_start)
    ended = started <= now - window
    taken = session.execute(
        update(CodeQuota)
        .where(col(CodeQuota.key) == key, ended | (col(CodeQuota.count) < limit))
        .values(
            count=case((ended, 1), else_=col(CodeQuota.count) + 1),
            window_start=case((ended, now), else_=started),
        )
    )
    if taken.rowcount == 1:
        return None
    start = session.execute(select(started).where(col(CodeQuota.key) == key)).scalar_one()
    return max(1, math.ceil((utc(start) + window - now).total_seconds()))


def forget_ended(session: Connection, window: timedelta, now: datetime) -> int:
    """Deletes the counters whose window ended: they count nothing any more."""
    ended = col(CodeQuota.window_start) <= now - window
    return int(session.execute(delete(CodeQuota).where(ended)).rowcount)
