"""The slot search scenario's queries: each shape as an HTTP request to medsvc, as one
hand-written SQL statement answering the same question, and as the statements medsvc itself
runs for it (captured in-process), with the loops that time the SQL from Python."""

import random
import re
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import orjson
from booking_seed import FIRST_DAY, SNOMED, SPECIALTIES, Schedule, instant
from sqlalchemy import event
from sqlalchemy.engine import make_url

from medsvc.assembly import fhir_server
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import driver_reads
from medsvc.fhir.router import FhirRequest, dispatch
from medsvc.scheduling.ledger import LEDGER
from medsvc.security.context import OPEN_CONTEXT

VARIANTS = 40  # requests per shape, cycled through: different schedules, specialties, days
PAGE = 20  # medsvc's default page size, which every request leaves as it is

# One statement per shape, written by hand against the same tables, returning the page medsvc
# returns (the same ids in the same order, with the JSON a client is sent) and the total.
# Slot search reads the search index, as medsvc's Slot search does; $find reads the booking
# ledger, as medsvc's $find does, with the slot's and schedule's JSON (what a proposal is
# built from). Each finds its matches, counts them and takes the page by key, and reads the
# JSON of the page's rows only. Their plans were checked with EXPLAIN on both databases.
_PAGE = """
page AS (SELECT pk, count(*) OVER () AS total FROM hits ORDER BY pk LIMIT 20)
SELECT r.id, r.content, page.total FROM page JOIN resource r ON r.pk = page.pk
ORDER BY r.pk"""
_PROPOSALS = """
page AS (SELECT slot_id, schedule_id, start, count(*) OVER () AS total FROM hits
         ORDER BY start, slot_id LIMIT 20)
SELECT page.slot_id, slot.content, schedule.content, page.total
FROM page
JOIN resource slot ON slot.resource_type = 'Slot' AND slot.id = page.slot_id
JOIN resource schedule ON schedule.resource_type = 'Schedule' AND schedule.id = page.schedule_id
ORDER BY page.start, page.slot_id"""
_FREE_ON = """EXISTS (SELECT 1 FROM search_token t WHERE t.resource_pk = r.pk
              AND t.param = 'status' AND t.code = 'free')"""
RAW_SQL = {
    # The schedule's reference rows drive (2,000 a schedule); start, then status, are probed
    # on each through the (resource_pk, param, ...) indexes (the more selective first).
    "schedule-week": """
WITH hits AS MATERIALIZED (
  SELECT r.pk FROM resource r
  WHERE r.pk IN (SELECT resource_pk FROM search_reference
                 WHERE resource_type = 'Slot' AND param = 'schedule'
                   AND target_type = 'Schedule' AND target_id = :schedule)
    AND NOT r.deleted
    AND EXISTS (SELECT 1 FROM search_date d WHERE d.resource_pk = r.pk
                AND d.param = 'start' AND d.low >= :low AND d.low < :high)
    AND """
    + _FREE_ON
    + "),"
    "" + _PAGE,
    # The day's start rows drive (11,000 across the city); specialty, then status, are probed.
    "specialty-day": """
WITH hits AS MATERIALIZED (
  SELECT r.pk FROM resource r
  WHERE r.pk IN (SELECT resource_pk FROM search_date
                 WHERE resource_type = 'Slot' AND param = 'start'
                   AND low >= :low AND low < :high)
    AND NOT r.deleted
    AND EXISTS (SELECT 1 FROM search_token t WHERE t.resource_pk = r.pk
                AND t.param = 'specialty' AND t.code = :code AND t.system = :system)
    AND """
    + _FREE_ON
    + "),"
    "" + _PAGE,
    # The practitioner's schedules drive, then the ledger's (schedule_id, start) index.
    "find-practitioner-week": """
WITH hits AS MATERIALIZED (
  SELECT l.slot_id, l.schedule_id, l.start
  FROM search_reference a
  JOIN resource schedule ON schedule.pk = a.resource_pk
  JOIN slot_ledger l ON l.schedule_id = schedule.id
  WHERE a.resource_type = 'Schedule' AND a.param = 'actor'
    AND a.target_type = 'Practitioner' AND a.target_id = :practitioner
    AND NOT schedule.deleted
    AND l.start >= :start AND l.start < :end AND l.bookable AND l.taken < l.capacity),"""
    + _PROPOSALS,
    # The day's ledger rows drive (11,000); a slot matches when its schedule has the
    # specialty (the schedules found first) or the slot itself has it (probed through the
    # ledger's key of the Slot's resource row), as medsvc's $find asks.
    "find-specialty-day": """
WITH coded AS MATERIALIZED (
  SELECT schedule.id FROM search_token t JOIN resource schedule ON schedule.pk = t.resource_pk
  WHERE t.resource_type = 'Schedule' AND t.param = 'specialty'
    AND t.code = :code AND t.system = :system AND NOT schedule.deleted),
hits AS MATERIALIZED (
  SELECT l.slot_id, l.schedule_id, l.start FROM slot_ledger l
  WHERE l.start >= :start AND l.start < :end AND l.bookable AND l.taken < l.capacity
    AND (l.schedule_id IN (SELECT id FROM coded)
         OR EXISTS (SELECT 1 FROM search_token t WHERE t.resource_pk = l.slot_pk
                    AND t.param = 'specialty' AND t.code = :code AND t.system = :system))),"""
    + _PROPOSALS,
}


@dataclass
class Variant:
    method: str
    path: str  # from the server root
    body: dict[str, Any] | None
    raw_params: dict[str, Any]
    statements: list[tuple[str, Any]] = field(default_factory=list)  # medsvc's, captured


@dataclass
class Shape:
    name: str
    label: str
    variants: list[Variant]


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)) // timedelta(microseconds=1)


def _find_body(start: datetime, end: datetime, name: str, value: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "start", "valueDateTime": instant(start)},
            {"name": "end", "valueDateTime": instant(end)},
            {"name": name, "valueString": value},
        ],
    }


def shapes(schedules: list[Schedule], days: int, seed: int = 11) -> list[Shape]:
    """The four request shapes, VARIANTS each, drawn at random (seeded) over the city."""
    rng = random.Random(seed)
    week, day = timedelta(days=7), timedelta(days=1)
    found: dict[str, list[Variant]] = {k: [] for k in RAW_SQL}
    for _ in range(VARIANTS):
        schedule = rng.choice(schedules)
        start = FIRST_DAY + timedelta(days=rng.randrange(days - 6))
        found["schedule-week"].append(
            Variant(
                "GET",
                f"/fhir/Slot?schedule=Schedule/{schedule.id}&status=free"
                f"&start=ge{start:%Y-%m-%d}&start=lt{start + week:%Y-%m-%d}",
                None,
                {"schedule": schedule.id, "low": _micros(start), "high": _micros(start + week)},
            )
        )
        found["find-practitioner-week"].append(
            Variant(
                "POST",
                "/fhir/Appointment/$find",
                _find_body(
                    start, start + week, "practitioner", f"Practitioner/{schedule.practitioner}"
                ),
                {"practitioner": schedule.practitioner, "start": start, "end": start + week},
            )
        )
        code = rng.choice(SPECIALTIES)
        start = FIRST_DAY + timedelta(days=rng.randrange(days))
        found["specialty-day"].append(
            Variant(
                "GET",
                f"/fhir/Slot?specialty={quote(f'{SNOMED}|{code}', safe='')}&status=free"
                f"&start=ge{start:%Y-%m-%d}&start=lt{start + day:%Y-%m-%d}",
                None,
                {
                    "system": SNOMED,
                    "code": code,
                    "low": _micros(start),
                    "high": _micros(start + day),
                },
            )
        )
        found["find-specialty-day"].append(
            Variant(
                "POST",
                "/fhir/Appointment/$find",
                _find_body(start, start + day, "specialty", f"{SNOMED}|{code}"),
                {"system": SNOMED, "code": code, "start": start, "end": start + day},
            )
        )
    labels = {
        "schedule-week": "GET /fhir/Slot?schedule&status=free&start=ge&start=lt (7 days)",
        "specialty-day": "GET /fhir/Slot?specialty&status=free&start=ge&start=lt (1 day)",
        "find-practitioner-week": "POST /fhir/Appointment/$find start, end, practitioner (7 days)",
        "find-specialty-day": "POST /fhir/Appointment/$find start, end, specialty (1 day)",
    }
    return [Shape(name, labels[name], variants) for name, variants in found.items()]


def request_lines(shape: Shape) -> str:
    """The wrk script's file: METHOD, path and one-line body, tab-separated."""
    lines = []
    for v in shape.variants:
        body = orjson.dumps(v.body).decode() if v.body is not None else ""
        lines.append(f"{v.method}\t{v.path}\t{body}")
    return "\n".join(lines) + "\n"


# --- the driver, as medsvc uses it -------------------------------------------------------


class Raw:
    """A driver connection of its own (sqlite3 or psycopg), in autocommit as medsvc's reads."""

    def __init__(self, url: str):
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.connection: Any = sqlite3.connect(
                parsed.database, isolation_level=None, check_same_thread=False
            )
            # The ledger's instants as SQLAlchemy writes them on SQLite (text).
            dialect = _sqlite_dialect()
            self._instant = LEDGER.c.start.type.dialect_impl(dialect).bind_processor(dialect)
        else:
            import psycopg

            conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
            self.connection = psycopg.connect(conninfo, autocommit=True)

    def sql(self, text: str) -> str:
        return text if self.sqlite else re.sub(r":(\w+)", r"%(\1)s", text)

    def params(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.sqlite:
            return params
        return {k: self._instant(v) if isinstance(v, datetime) else v for k, v in params.items()}

    def fetch(self, sql: str, params: Any) -> list[Any]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


def _sqlite_dialect() -> Any:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


def raw_answer(shape: str, rows: list[Any]) -> tuple[list[str], int]:
    """The page's slot ids and the total, from the hand-written statement's rows."""
    return [str(r[0]) for r in rows], int(rows[0][-1]) if rows else 0


def medsvc_answer(shape: str, bundle: dict[str, Any]) -> tuple[list[str], int]:
    """The page's slot ids and the total, from medsvc's searchset Bundle."""
    entries = [e for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"]
    if shape.startswith("find"):
        ids = [e["resource"]["slot"][0]["reference"].split("/", 1)[1] for e in entries]
    else:
        ids = [e["resource"]["id"] for e in entries]
    return ids, int(bundle.get("total", -1))


# --- medsvc's own statements -------------------------------------------------------------


@contextmanager
def _captured(database: Database) -> Iterator[list[tuple[str, Any]]]:
    """Every statement sent to the driver meanwhile: SQLAlchemy's (its cursor event) and
    the store's direct driver reads (medsvc.fhir.driver_reads._fetch, wrapped)."""
    statements: list[tuple[str, Any]] = []
    seen: list[Any] = [None]  # the last execution context recorded

    def before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool
    ) -> None:
        # On PostgreSQL the reader is the writer with options: an execution reaches the
        # listeners of both, and is recorded once.
        if context is seen[0]:
            return
        seen[0] = context
        statements.append((statement, parameters))

    engines = {id(e): e for e in (database.reader, database.writer)}.values()
    original = driver_reads._fetch

    def traced(session: Any, sql: str, params: Any) -> list[tuple[Any, ...]]:
        statements.append((sql, params))
        return original(session, sql, params)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    driver_reads._fetch = traced
    try:
        yield statements
    finally:
        driver_reads._fetch = original
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)


def capture(settings: Settings, shape: Shape, budget_seconds: float, minimum: int) -> int:
    """Runs variants in-process through the FHIR layer (dispatch, as the platform, on a
    read session) and keeps the statements each sent, to replay them with the driver.
    All variants, or as many as the budget allows (at least `minimum`); returns how many."""
    server, database = fhir_server(settings), Database(settings)
    began, done = time.perf_counter(), 0
    try:
        for v in shape.variants:
            if done >= minimum and time.perf_counter() - began > budget_seconds:
                break
            path, _, query = v.path.removeprefix("/fhir/").partition("?")
            pairs = (
                [(k, _unquote(x)) for k, _, x in (p.partition("=") for p in query.split("&"))]
                if query
                else []
            )
            request = FhirRequest(v.method, path, query=pairs, body=v.body)
            with database.session(write=False) as session, _captured(database) as statements:
                dispatch(server, session, OPEN_CONTEXT, request)
            v.statements = [(s, p) for s, p in statements if s.strip()]
            if not v.statements:
                raise RuntimeError(f"{shape.name}: no statement captured")
            done += 1
    finally:
        database.dispose()
    return done


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


# --- timing ------------------------------------------------------------------------------


def time_loop(
    run: Callable[[int], None], count: int, seconds: float, minimum: int = 1
) -> list[float]:
    """Calls run(i) for i = 0, 1, ... (cycling through count variants) for `seconds`, and at
    least `minimum` times; returns the wall time of each call in ms."""
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    i = 0
    while True:
        began = time.perf_counter()
        if began >= deadline and len(samples) >= minimum:
            return samples
        run(i % count)
        samples.append((time.perf_counter() - began) * 1000)
        i += 1


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {
        "count": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p90_ms": pct(90),
        "p99_ms": pct(99),
        "max_ms": ordered[-1],
    }
