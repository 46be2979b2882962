"""Database engines, the constraint naming convention, and the unit of work around each request.

SQLite (the embedded default) runs in WAL mode: readers share a pool and run concurrently,
writers share one connection and open with BEGIN IMMEDIATE, so they queue in-process instead
of spinning on the database lock. PostgreSQL uses one pool for both. On both, reads run in
autocommit: each statement sees what was committed when it started, and a read pays no
BEGIN and COMMIT (on SQLite those two cost more than the read itself).
"""

import re
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Connection, Engine, Integer, MetaData, create_engine, event, exc
from sqlmodel import SQLModel

from medsvc.config import Settings
from medsvc.errors import Unavailable
from medsvc.kit.paths import ensure_sqlite_directory

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata
BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


def _sqlite_engine(url: str, *, write: bool, pool_size: int, wait: float) -> Engine:
    engine = create_engine(
        url,
        pool_size=1 if write else pool_size,
        max_overflow=0,
        pool_timeout=wait,
        connect_args={"check_same_thread": False, "timeout": wait},
    )

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun explicitly below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if write:

        @event.listens_for(engine, "begin")
        def begin(connection: Any) -> None:
            # Straight to the driver: through SQLAlchemy this statement costs more than a read.
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")

    return engine


UNIT = "medsvc.unit"  # in connection.info: the caches of one unit of work (see unit_cache)


def unit_cache(connection: Connection, name: str) -> dict[Any, Any]:
    """A cache that lives as long as the unit of work on this connection (data keys made for
    it, which it may yet roll back); outside Database.session(), one that ends with the call."""
    caches: dict[str, dict[Any, Any]] = connection.info.get(UNIT, {})
    return caches.setdefault(name, {})


class Database:
    """The engines for one configured database URL."""

    def __init__(self, settings: Settings):
        self.url = settings.database_url
        self.is_sqlite = settings.is_sqlite
        self._idle_readers: deque[Connection] = deque()  # appends and pops are thread-safe
        if self.is_sqlite:
            ensure_sqlite_directory(self.url)
            wait = settings.write_wait_seconds
            self.reader = _sqlite_engine(
                self.url, write=False, pool_size=settings.sqlite_reader_pool_size, wait=wait
            )
            self.writer = _sqlite_engine(self.url, write=True, pool_size=1, wait=wait)
        else:
            # No pre-ping: it would cost a round trip per request. A connection the server
            # dropped fails its request with 503 and is replaced; recycling bounds their age.
            self.writer = create_engine(
                self.url,
                pool_size=settings.pool_size,
                max_overflow=4,
                pool_recycle=1800,
                pool_timeout=settings.write_wait_seconds,
            )
            # Reads run in autocommit: under READ COMMITTED a transaction would give them no
            # more consistency (each statement sees its own snapshot), only two round trips.
            self.reader = self.writer.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Connection]:
        """One unit of work. A write gets a connection in a transaction, committed when the
        block ends and rolled back if it raises; a read gets one in autocommit (see _read).
        Services execute on it and never commit themselves.

        It is a Core connection, not an ORM session: the FHIR store builds its statements
        itself, and a Session would add tens of microseconds to every read.
        """
        if not write:
            yield from self._read()
            return
        try:
            with self.writer.connect() as connection, connection.begin():
                connection.info[UNIT] = {}
                yield connection
        except exc.TimeoutError as error:
            raise Unavailable("The database is busy; retry shortly") from error

    def _read(self) -> Iterator[Connection]:
        """A read, on a connection kept open between reads.

        Checking a connection out of SQLAlchemy's pool and back costs several times what a
        read by id costs, so finished reads leave their connection here for the next one.
        There are never more than the reads running at once, each holding a slot of the
        pool. Reads run in autocommit, so a kept connection holds no transaction and no
        snapshot between them.
        """
        try:
            connection = self._idle_readers.pop()
        except IndexError:
            try:
                connection = self.reader.connect()
            except exc.TimeoutError as error:
                raise Unavailable("The database is busy; retry shortly") from error
        connection.info[UNIT] = {}
        try:
            yield connection
        finally:
            if connection.in_transaction():  # SQLAlchemy's own bookkeeping: nothing to end
                connection.rollback()
            if connection.invalidated:
                connection.close()
            else:
                self._idle_readers.append(connection)

    def dispose(self) -> None:
        while self._idle_readers:
            self._idle_readers.pop().close()
        self.writer.dispose()
        if self.is_sqlite:  # on PostgreSQL the reader shares the writer's pool
            self.reader.dispose()


_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w.,\s]+)")


def violated_constraint(error: exc.IntegrityError) -> str | None:
    """The name of the violated constraint, by the naming convention, on either database."""
    diag = getattr(error.orig, "diag", None)
    if diag is not None and getattr(diag, "constraint_name", None):
        return str(diag.constraint_name)
    match = _SQLITE_UNIQUE.search(str(error.orig))
    if not match:
        return None
    columns = [c.strip() for c in match["columns"].split(",")]
    table = columns[0].split(".")[0]
    return "uq_" + table + "_" + "_".join(c.split(".")[1] for c in columns)
