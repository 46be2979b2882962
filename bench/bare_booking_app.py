"""The bare booking endpoint: what a booking costs with nothing but FastAPI, the driver and
two statements, beside which medsvc's $book is measured.

`POST /fhir/Appointment/$book` takes the same Parameters body as medsvc (slot, patient-id)
in a plain `def` endpoint (FastAPI runs it in its threadpool) and, in one transaction:

    UPDATE slot SET status = 'busy' WHERE id = :slot AND status = 'free'
    INSERT INTO appointment (id, slot_id, patient_id, created) ...   -- if one row changed

then answers 200 with a small Appointment, or 409 when the slot was not free.

BENCH_BARE_MODE picks how it reaches the database (BENCH_BARE_DB names it):

- "sqlite" (the bare endpoint's design on SQLite): one writer connection behind a lock,
  each booking in BEGIN IMMEDIATE, so writers queue in-process instead of spinning on
  SQLite's lock (what DESIGN.md says of SQLite, and what medsvc does).
- "sqlite-naive": a connection per worker thread and a deferred BEGIN; concurrent writers
  meet SQLITE_BUSY and wait in SQLite's busy handler, which sleeps and retries.
- "postgresql": a pool of psycopg connections (16, medsvc's pool size); PostgreSQL's row
  lock on the slot serialises two bookings of one slot.

Both databases run as medsvc runs them: SQLite in WAL mode with synchronous=NORMAL.
"""

import json
import os
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Request, Response

SCHEMA = (
    "CREATE TABLE slot (id VARCHAR(64) PRIMARY KEY, status VARCHAR(16) NOT NULL)",
    "CREATE TABLE appointment (id VARCHAR(64) PRIMARY KEY, slot_id VARCHAR(64) NOT NULL, "
    "patient_id VARCHAR(64) NOT NULL, created TIMESTAMP NOT NULL)",
)
POOL_SIZE = 16
UPDATE = "UPDATE slot SET status = 'busy' WHERE id = {p} AND status = 'free'"
INSERT = "INSERT INTO appointment (id, slot_id, patient_id, created) VALUES ({p}, {p}, {p}, {p})"

Book = Callable[[str, str], str | None]


def _sqlite_connect(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


def _sqlite_book(connection: sqlite3.Connection, begin: str, slot: str, patient: str) -> str | None:
    connection.execute(begin)
    try:
        changed = connection.execute(UPDATE.format(p="?"), (slot,)).rowcount
        appointment = None
        if changed == 1:
            appointment = str(uuid.uuid4())
            connection.execute(
                INSERT.format(p="?"), (appointment, slot, patient, datetime.now(UTC).isoformat())
            )
        connection.execute("COMMIT")
        return appointment
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def sqlite_serialised(path: str) -> Book:
    writer, lock = _sqlite_connect(path), threading.Lock()

    def book(slot: str, patient: str) -> str | None:
        with lock:
            return _sqlite_book(writer, "BEGIN IMMEDIATE", slot, patient)

    return book


def sqlite_naive(path: str) -> Book:
    local = threading.local()

    def book(slot: str, patient: str) -> str | None:
        if not hasattr(local, "connection"):
            local.connection = _sqlite_connect(path)
        return _sqlite_book(local.connection, "BEGIN", slot, patient)

    return book


def postgresql(conninfo: str) -> Book:
    import psycopg  # only this mode needs it

    idle: queue.LifoQueue[Any] = queue.LifoQueue()
    for _ in range(POOL_SIZE):
        idle.put(psycopg.connect(conninfo))

    @contextmanager
    def connection() -> Iterator[Any]:
        conn = idle.get()
        try:
            yield conn
        finally:
            idle.put(conn)

    def book(slot: str, patient: str) -> str | None:
        with connection() as conn:
            try:
                changed = conn.execute(UPDATE.format(p="%s"), (slot,)).rowcount
                appointment = None
                if changed == 1:
                    appointment = str(uuid.uuid4())
                    conn.execute(
                        INSERT.format(p="%s"), (appointment, slot, patient, datetime.now(UTC))
                    )
                conn.commit()
                return appointment
            except BaseException:
                conn.rollback()
                raise

    return book


MODES: dict[str, Callable[[str], Book]] = {
    "sqlite": sqlite_serialised,
    "sqlite-naive": sqlite_naive,
    "postgresql": postgresql,
}


async def request_body(request: Request) -> bytes:
    """The whole request body, read on the event loop (a `def` endpoint cannot await it)."""
    return await request.body()


def _inputs(body: bytes) -> tuple[str, str]:
    parameters = {
        p["name"]: p.get("valueString") or (p.get("valueReference") or {}).get("reference")
        for p in json.loads(body)["parameter"]
    }
    return (
        parameters["slot"].removeprefix("Slot/"),
        parameters["patient-id"].removeprefix("Patient/"),
    )


def create() -> FastAPI:
    """The uvicorn factory (`--factory bare_booking_app:create`)."""
    book = MODES[os.environ["BENCH_BARE_MODE"]](os.environ["BENCH_BARE_DB"])
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/fhir/Appointment/$book")
    def book_slot(body: bytes = Depends(request_body)) -> Response:
        slot, patient = _inputs(body)
        appointment = book(slot, patient)
        if appointment is None:
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [
                    {"severity": "error", "code": "conflict", "diagnostics": "slot not free"}
                ],
            }
            return Response(
                json.dumps(outcome), status_code=409, media_type="application/fhir+json"
            )
        answer = {
            "resourceType": "Appointment",
            "id": appointment,
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot}"}],
            "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"}],
        }
        return Response(json.dumps(answer), media_type="application/fhir+json")

    return app
