"""Sign-in throttling kept in the database, so that every process sees it: failures counted
per username-and-address and per address, each failure past a count's free ones doubling the
wait before the next attempt, up to a bounded wait. The owner, elsewhere, is never held up."""

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, delete, exc, insert, select, update
from sqlmodel import col

from medsvc import clock
from medsvc.config import Settings
from medsvc.security.accounts import normalise_username
from medsvc.security.tables import SignInThrottle

FORGET_AFTER = timedelta(days=1)  # a count with no failure for this long starts again
FORGET_BATCH = 1000
MAX_ADDRESS = 64


@dataclass(frozen=True)
class Limits:
    free_per_username: int
    free_per_address: int
    max_wait: timedelta

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            settings.signin_free_failures,
            settings.signin_address_free_failures,
            timedelta(seconds=settings.signin_max_wait_seconds),
        )


@dataclass(frozen=True)
class Caller:
    """Who tries: the username typed and the address the connection comes from."""

    username: str
    address: str

    @property
    def normalised(self) -> str:
        return normalise_username(self.username)[:128]

    @property
    def pair_key(self) -> str:
        pair = f"{self.normalised}\n{self.address}".encode()
        return "pair:" + hashlib.sha256(pair).hexdigest()

    @property
    def address_key(self) -> str:
        return "address:" + self.address[:MAX_ADDRESS]


class MustWait(Exception):
    """The caller must wait this many seconds before trying this username again."""

    def __init__(self, seconds: int):
        super().__init__(f"wait {seconds} s")
        self.seconds = seconds


def wait_before(
    connection: Connection, caller: Caller, now: datetime, *, locking: bool = False
) -> int | None:
    """Seconds before this caller may try this username again, or None when it may now.
    locking: in the write transaction, the counts' rows stay locked until it ends, so that
    attempts at once are concluded one after the other, each seeing the wait the one before
    it set (PostgreSQL; SQLite has one writer)."""
    query = select(col(SignInThrottle.locked_until)).where(
        col(SignInThrottle.key).in_((caller.pair_key, caller.address_key))
    )
    if locking:  # in one order, so that two attempts never wait for each other's rows
        query = query.order_by(col(SignInThrottle.key)).with_for_update()
    until = [clock.utc(row[0]) for row in connection.execute(query) if row[0] is not None]
    latest = max(until, default=now)
    if latest <= now:
        return None
    return max(1, math.ceil((latest - now).total_seconds()))


def _wait_after(failures: int, free: int, max_wait: timedelta) -> timedelta:
    if failures <= free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - free - 1, 20)), max_wait)


def _count(
    connection: Connection, key: str, username: str | None, address: str, now: datetime
) -> int:
    """Adds one failure to the key's count (a count left alone for a day starts again) and
    returns the new count; one statement, so that failures at once are all counted."""
    forgotten = col(SignInThrottle.last_failure) < now - FORGET_AFTER
    counted = (
        update(SignInThrottle)
        .where(col(SignInThrottle.key) == key)
        .values(
            failures=case((forgotten, 1), else_=col(SignInThrottle.failures) + 1),
            last_failure=now,
        )
    )
    if connection.execute(counted).rowcount == 0:
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(SignInThrottle).values(
                        key=key, username=username, address=address, failures=1, last_failure=now
                    )
                )
        except exc.IntegrityError:  # another failure made the row first
            connection.execute(counted)
    query = select(col(SignInThrottle.failures)).where(col(SignInThrottle.key) == key)
    return int(connection.execute(query).scalar_one())


def record_failure(connection: Connection, caller: Caller, limits: Limits, now: datetime) -> None:
    address = caller.address[:MAX_ADDRESS]
    counts = (
        (caller.pair_key, caller.normalised, limits.free_per_username),
        (caller.address_key, None, limits.free_per_address),
    )
    for key, username, free in counts:
        failures = _count(connection, key, username, address, now)
        wait = _wait_after(failures, free, limits.max_wait)
        if wait:
            connection.execute(
                update(SignInThrottle)
                .where(col(SignInThrottle.key) == key)
                .values(locked_until=now + wait)
            )


def record_success(connection: Connection, caller: Caller) -> None:
    """The username's count from this address starts again; the address's does not, so that
    an attacker's own account does not wipe out what its guesses at others cost."""
    connection.execute(delete(SignInThrottle).where(col(SignInThrottle.key) == caller.pair_key))


def unlock(connection: Connection, username: str) -> int:
    """Forgets every failure counted for the username; returns how many addresses it was."""
    name = normalise_username(username)
    done = connection.execute(delete(SignInThrottle).where(col(SignInThrottle.username) == name))
    return int(done.rowcount)


def throttled_addresses(
    connection: Connection, username: str, now: datetime
) -> list[dict[str, Any]]:
    """Where the username's failures come from, and until when each address must wait."""
    query = select(SignInThrottle).where(
        col(SignInThrottle.username) == normalise_username(username)
    )
    found = []
    for row in connection.execute(query):
        locked = row.locked_until and clock.utc(row.locked_until)
        found.append(
            {
                "address": row.address,
                "failures": row.failures,
                "locked_until": locked.isoformat() if locked and locked > now else None,
            }
        )
    return found


def forget_old_failures(session: Connection, now: datetime, batch: int = FORGET_BATCH) -> int:
    """The job: deletes up to `batch` counts that would start again anyway (no failure for
    a day, so no wait left: the longest is an hour); returns how many."""
    old = (
        select(col(SignInThrottle.key))
        .where(col(SignInThrottle.last_failure) < now - FORGET_AFTER)
        .limit(batch)
    )
    keys = [str(row[0]) for row in session.execute(old)]
    if keys:
        session.execute(delete(SignInThrottle).where(col(SignInThrottle.key).in_(keys)))
    return len(keys)
