"""Real databases and a real HTTP server for every test run.

Each run (each pytest-xdist worker) gets its own SQLite file and its own PostgreSQL database
(created here, dropped at the end), both migrated with the project's migrations. Both backends
are required unless MEDSVC_TEST_BACKENDS names fewer; a PostgreSQL that cannot be reached fails
the run.
"""

import os
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from sqlalchemy import Engine, create_engine, text

from medsvc import clock
from medsvc.app import create_app
from medsvc.audit import trail as audit_trail
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.kit import migrate
from medsvc.security.context import OPEN_CONTEXT, AuthContext, auth_context
from medsvc.tables import all_tables

BACKENDS = os.environ.get("MEDSVC_TEST_BACKENDS", "sqlite,postgresql").split(",")
POSTGRES_ADMIN_URL = os.environ.get(
    "MEDSVC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Every table of the schema, each after the tables that refer to it: emptied between tests.
TABLES = [table.name for table in reversed(all_tables().sorted_tables)]


T = TypeVar("T")
KEYS = tempfile.TemporaryDirectory(prefix="medsvc-test-keys-")  # removed when the run ends


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Backend:
    name: str
    url: str
    port: int
    database: Database
    settings: Settings

    def reset(self) -> None:
        audit_trail.flush_all()  # no record of the last test may land in the next one
        with self.database.writer.begin() as connection:
            if self.name == "postgresql":  # TRUNCATE fires no row triggers
                connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
                return
            # The audit trail's triggers refuse deletes: lifted for the reset, then restored.
            triggers = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _sql in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
            for _name, sql in triggers:
                connection.execute(text(sql))


class Kept:
    """What a test process builds once per backend and keeps to the end of the run: each
    backend's migrated database and its servers. pytest-xdist sends a worker whole test files
    (--dist loadfile), each with both backends' tests, so a worker switches between the
    backends many times; nothing is built twice."""

    def __init__(self, stack: ExitStack, tmp_path_factory: pytest.TempPathFactory):
        self.stack, self.tmp_path_factory = stack, tmp_path_factory
        self.made: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, backend: str, make: Callable[[], T]) -> T:
        if (kind, backend) not in self.made:
            self.made[(kind, backend)] = make()
        found: T = self.made[(kind, backend)]
        return found

    def database_url(self, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{self.tmp_path_factory.mktemp('sqlite') / 'medsvc.db'}"
        name = f"medsvc_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.stack.callback(admin.dispose)
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as error:
            pytest.fail(f"PostgreSQL is required for the tests ({POSTGRES_ADMIN_URL}): {error}")
        self.stack.callback(_drop_database, admin, name)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"

    def backend(self, name: str) -> Backend:
        url = self.database_url(name)
        migrate.upgrade(url)
        port = free_port()
        settings = make_settings(url, port)
        database = Database(settings)
        self.stack.callback(database.dispose)
        return Backend(name, url, port, database, settings)

    def server(self, app: FastAPI, port: int) -> "LiveServer":
        return self.stack.enter_context(LiveServer(app, port))


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kept]:
    with ExitStack() as stack:
        yield Kept(stack, tmp_path_factory)


def make_settings(url: str, port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "base_url": f"http://127.0.0.1:{port}/fhir",
        "auth_mode": "smart",
        "log_level": "WARNING",
        "keys_dir": KEYS.name,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, kept: Kept) -> Backend:
    return kept.get("backend", request.param, lambda: kept.backend(request.param))


class LiveServer:
    """A uvicorn server in a thread of the test process, on its own port."""

    def __init__(self, app: FastAPI, port: int):
        self.port = port
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self._release_app()

    def _release_app(self) -> None:
        """What the app's lifespan would end (it is off here, so that a test's database
        outlives its servers): the read and write threads and the audit trail's writer, or
        every app a test opens keeps its threads to the end of the run."""
        state = getattr(self.server.config.app, "state", None)
        for executor in getattr(state, "executors", {}).values():
            executor.shutdown(wait=False)
        audit = getattr(state, "audit", None)
        if audit is not None:
            audit.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def platform_context_dependency(_request: Request) -> AuthContext:
    return OPEN_CONTEXT


def platform_app(settings: Settings, database: Database) -> FastAPI:
    """The app with every request acting as the platform (sign-in arrives with its own tests)."""
    app = create_app(settings, database)
    app.dependency_overrides[auth_context] = platform_context_dependency
    return app


@pytest.fixture(scope="session")
def live_server(backend: Backend, kept: Kept) -> LiveServer:
    def start() -> LiveServer:
        return kept.server(platform_app(backend.settings, backend.database), backend.port)

    return kept.get("live_server", backend.name, start)


@pytest.fixture
def clean(backend: Backend) -> Iterator[Backend]:
    backend.reset()
    yield backend
    clock.reset()


# The concurrency tests share one client among up to 64 threads. httpcore (1.0) closes an idle
# connection once the pool holds more than max_keepalive_connections, counting busy ones too,
# and a connection just handed to a request still counts as idle until the request starts on
# it: that request then reads from a closed socket (EBADF). Keeping every connection avoids it.
SHARED_BY_THREADS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


@pytest.fixture
def client(live_server: LiveServer, clean: Backend) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.url + "/fhir",
        timeout=30,
        headers={"Accept": "application/fhir+json"},
        limits=SHARED_BY_THREADS,
    ) as http:
        yield http


@pytest.fixture
def base_url(backend: Backend) -> str:
    return backend.settings.base_url


EXAMPLES = Path(__file__).parent / "fhir_examples"


@pytest.fixture(scope="session")
def smart_server(backend: Backend, kept: Kept) -> LiveServer:
    """The app as production serves it: every FHIR request needs a token this server issued."""

    def start() -> LiveServer:
        port = free_port()
        # Every test calls from 127.0.0.1: the rate limit has a test of its own.
        settings = make_settings(backend.url, port, token_requests_per_minute=1_000_000)
        return kept.server(create_app(settings, backend.database), port)

    return kept.get("smart_server", backend.name, start)
