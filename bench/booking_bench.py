"""The booking benchmark (booking issue, item 11): Appointment/$book under 64 clients beside a
bare booking endpoint, and Slot search among a million Slots beside raw SQL; the results
go into the marked section of docs/benchmarks.md.

Per backend (SQLite, PostgreSQL):

- Booking: a fresh database with a small city, free Slots and Patients; medsvc in its own
  uvicorn process and the bare endpoint(s) of bare_booking_app.py in theirs. wrk (64
  connections, booking.lua) sends every request for a different free slot and patient,
  1,000 counted bookings per run; medsvc and the bare endpoints take turns, run after run,
  each run on fresh slots. After every run the database is checked for double bookings.
- Slot search: a city of 500 schedules x 90 days (1,000,000 Slots), the first day written
  through the FHIR layer and the rest in bulk (slot_bulk.py); four request shapes sent one
  at a time by wrk, beside one hand-written SQL statement per shape and beside medsvc's own
  statements, both run through the driver in a Python loop (slot_search.py).
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import bare_booking_app
import booking_report
import booking_seed
import httpx
import orjson
import report
import slot_bulk
import slot_search
from servers import (
    BENCH_DIR,
    Server,
    free_port,
    postgres_database,
    postgres_version,
    vacuum_analyze,
)
from sqlalchemy.engine import make_url

from medsvc.config import Settings
from medsvc.kit import migrate

ROOT = BENCH_DIR.parent
LUA = BENCH_DIR / "booking.lua"
BOOKING_SCHEDULES = 20  # the booking database's city: its slots spread over 20 schedules
WRK_CAP_SECONDS = 600  # a counted run that has not finished by then has failed
SETTLE_SECONDS = 1.0  # after a run, the in-flight bookings are done once nothing changes


# --- wrk ------------------------------------------------------------------------------------


def _wrk(
    server: Server,
    requests: Path,
    clients: int,
    stop_after: int,
    min_seconds: float = 0,
    cycle: bool = False,
    authorization: str = "",
) -> dict[str, Any]:
    """One wrk run with booking.lua, interrupted once stop_after responses are in and
    min_seconds have passed (wrk itself runs for a duration; the script counts)."""
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests),
        "BENCH_STOP_AFTER": str(stop_after),
        "BENCH_MIN_SECONDS": str(min_seconds),
        "BENCH_CYCLE": "1" if cycle else "0",
        "BENCH_AUTHORIZATION": authorization,
    }
    command = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{WRK_CAP_SECONDS}s",
        "--timeout",
        "120s",
        "-s",
        str(LUA),
        server.url + "/",
    ]
    cpu, began = server.cpu_seconds(), time.monotonic()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    summary, wall = None, None
    for line in process.stdout:
        if line.startswith("BENCH-STOPPED"):
            wall = time.monotonic() - began
            server_cpu = server.cpu_seconds() - cpu
            process.send_signal(signal.SIGINT)  # wrk then prints its summary and ends
        elif line.startswith("BENCH "):
            summary = json.loads(line.removeprefix("BENCH "))
    stderr = process.stderr.read() if process.stderr else ""
    process.wait()
    if summary is None or wall is None:
        raise RuntimeError(f"wrk against {server.name} did not finish: {stderr[-2000:]}")
    seconds_counted = (summary["last_us"] - summary["first_us"]) / 1e6
    return {
        "responses": summary["responses"],
        "ok": summary["ok"],
        "conflicts": summary["conflicts"],
        "others": summary["others"],
        "socket_errors": summary["socket_errors"],
        "exhausted": summary["exhausted"],
        "seconds": seconds_counted,
        "rps": summary["responses"] / seconds_counted,
        "p50_ms": summary["p50_us"] / 1000,
        "p90_ms": summary["p90_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
        "max_ms": summary["max_us"] / 1000,
        "server_cpu": server_cpu / wall,
        "errors": [x for x in stderr.splitlines() if x.startswith("BENCH-ERROR")][:3],
    }


def median_of(samples: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float]:
    return {key: statistics.median(float(s[key]) for s in samples) for key in keys}


# --- databases ------------------------------------------------------------------------------


@contextmanager
def scratch_database(backend: str, scratch: Path, name: str) -> Iterator[str]:
    """A fresh database: a file in the scratch directory, or a PostgreSQL database of its
    own that is dropped afterwards."""
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{scratch / (name + '.db')}"


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def medsvc_env(url: str, port: int) -> dict[str, str]:
    """medsvc as bench/http_bench.py serves it: default settings, every caller acting as the
    platform through the real auth_context dependency in open mode (medsvc_launcher.py)."""
    return {
        "MEDSVC_DATABASE_URL": url,
        "MEDSVC_BASE_URL": f"http://127.0.0.1:{port}/fhir",
        "MEDSVC_AUTH_MODE": "smart",
        "BENCH_AUTH": "open",
    }


class Counter:
    """Counts what a booking app has written, with the driver, on its database."""

    def __init__(self, url: str, sql: str):
        self.url, self.sql = url, sql

    def __call__(self) -> int:
        if self.url.startswith("sqlite"):
            with sqlite3.connect(make_url(self.url).database) as connection:
                return int(connection.execute(self.sql).fetchone()[0])
        import psycopg

        with psycopg.connect(_conninfo(self.url)) as connection:
            return int(connection.execute(self.sql).fetchone()[0])


def settle(count: Counter) -> int:
    """Waits until the bookings sent before wrk stopped are written: the count is steady."""
    last, steady_since = count(), time.monotonic()
    while time.monotonic() - steady_since < SETTLE_SECONDS:
        time.sleep(0.2)
        now = count()
        if now != last:
            last, steady_since = now, time.monotonic()
    return last


# --- booking: the checks --------------------------------------------------------------------

MEDSVC_CHECKS = {
    "seats": "SELECT count(*) FROM slot_seat",
    "seat_numbers_twice": "SELECT count(*) FROM (SELECT slot_id, seat FROM slot_seat "
    "GROUP BY slot_id, seat HAVING count(*) > 1) x",
    "slots_with_two_seats": "SELECT count(*) FROM (SELECT slot_id FROM slot_seat "
    "GROUP BY slot_id HAVING count(*) > 1) x",
    "ledger_over_capacity": "SELECT count(*) FROM slot_ledger WHERE taken > capacity",
    "ledger_count_wrong": "SELECT count(*) FROM slot_ledger l WHERE taken <> "
    "(SELECT count(*) FROM slot_seat s WHERE s.slot_id = l.slot_id)",
    "appointments": "SELECT count(*) FROM resource WHERE resource_type = 'Appointment' "
    "AND NOT deleted",
    "booked_appointments": "SELECT count(*) FROM resource r WHERE r.resource_type = "
    "'Appointment' AND NOT r.deleted AND EXISTS (SELECT 1 FROM "
    "search_token t WHERE t.resource_pk = r.pk AND t.param = 'status' "
    "AND t.code = 'booked')",
    "appointment_slot_refs": "SELECT count(*) FROM search_reference WHERE resource_type = "
    "'Appointment' AND param = 'slot'",
    "slots_in_two_appointments": "SELECT count(*) FROM (SELECT target_id FROM "
    "search_reference WHERE resource_type = 'Appointment' AND "
    "param = 'slot' GROUP BY target_id HAVING count(*) > 1) x",
    "busy_slots": "SELECT count(*) FROM resource r WHERE r.resource_type = 'Slot' AND NOT "
    "r.deleted AND EXISTS (SELECT 1 FROM search_token t WHERE t.resource_pk = "
    "r.pk AND t.param = 'status' AND t.code = 'busy')",
    "seated_slots_not_busy": "SELECT count(*) FROM slot_seat s JOIN resource r ON "
    "r.resource_type = 'Slot' AND r.id = s.slot_id WHERE NOT EXISTS "
    "(SELECT 1 FROM search_token t WHERE t.resource_pk = r.pk AND "
    "t.param = 'status' AND t.code = 'busy')",
    "slots_written_busy_twice": "SELECT count(*) FROM resource WHERE resource_type = 'Slot' "
    "AND version_id > 2",
}
BARE_CHECKS = {
    "appointments": "SELECT count(*) FROM appointment",
    "busy_slots": "SELECT count(*) FROM slot WHERE status = 'busy'",
    "slots_in_two_appointments": "SELECT count(*) FROM (SELECT slot_id FROM appointment "
    "GROUP BY slot_id HAVING count(*) > 1) x",
}


def run_checks(url: str, checks: dict[str, str]) -> dict[str, int]:
    return {name: Counter(url, sql)() for name, sql in checks.items()}


def double_bookings(app: str, found: dict[str, int]) -> list[str]:
    """What is wrong in the database after the runs so far (empty: no double booking and
    nothing half-written)."""
    wrong = [
        name
        for name in (
            "seat_numbers_twice",
            "slots_with_two_seats",
            "ledger_over_capacity",
            "ledger_count_wrong",
            "slots_in_two_appointments",
            "seated_slots_not_busy",
            "slots_written_busy_twice",
        )
        if found.get(name)
    ]
    booked = found["seats"] if app == "medsvc" else found["busy_slots"]
    for name in ("appointments", "booked_appointments", "appointment_slot_refs", "busy_slots"):
        if name in found and found[name] != booked:
            wrong.append(f"{name} {found[name]} != {booked}")
    return wrong


# --- booking: the scenario ------------------------------------------------------------------


def _request_file(path: Path, slots: list[str], patients: list[str], seed: int) -> Path:
    pairs = list(zip(slots, patients, strict=True))
    random.Random(seed).shuffle(pairs)  # the city's slots in no particular order
    path.write_text(
        "".join(
            f"POST\t/fhir/Appointment/$book\t{booking_seed.booking_parameters(s, p)}\n"
            for s, p in pairs
        )
    )
    return path


def _bare_database(url: str, slot_ids: list[str]) -> None:
    if url.startswith("sqlite"):
        with sqlite3.connect(make_url(url).database) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
            for statement in bare_booking_app.SCHEMA:
                connection.execute(statement)
            connection.executemany(
                "INSERT INTO slot (id, status) VALUES (?, 'free')", [(s,) for s in slot_ids]
            )
        return
    import psycopg

    with psycopg.connect(_conninfo(url)) as connection:
        for statement in bare_booking_app.SCHEMA:
            connection.execute(statement)
        with connection.cursor().copy("COPY slot (id, status) FROM STDIN") as copy:
            for s in slot_ids:
                copy.write_row((s, "free"))
    vacuum_analyze(url)


def booking_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{backend}: booking", flush=True)
    bare_modes = {"bare": "postgresql" if backend == "postgresql" else "sqlite"}
    if backend == "sqlite" and args.naive:
        bare_modes["bare_naive"] = "sqlite-naive"
    rounds, per_round = 1 + args.booking_runs, args.bookings + args.clients
    with tempfile.TemporaryDirectory(prefix="medsvc-booking-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        url = stack.enter_context(scratch_database(backend, scratch, "medsvc"))
        bare_urls = {
            name: stack.enter_context(scratch_database(backend, scratch, name))
            for name in bare_modes
        }
        migrate.upgrade(url)
        settings = Settings(database_url=url, auth_mode="smart", log_level="WARNING")
        began = time.monotonic()
        with booking_seed.Seeder(settings) as seeder:
            city = seeder.city(BOOKING_SCHEDULES)
            days = -(-rounds * per_round // (BOOKING_SCHEDULES * 22)) + 1
            slot_ids = seeder.slots(booking_seed.calendar(city, days))[: rounds * per_round]
            patients = seeder.patients(rounds * per_round)
        if backend == "postgresql":
            vacuum_analyze(url)
        for bare_url in bare_urls.values():
            _bare_database(bare_url, slot_ids)
        seed_seconds = time.monotonic() - began
        print(f"  seeded {len(slot_ids):,} slots and patients in {seed_seconds:.0f} s", flush=True)
        files = [
            _request_file(
                scratch / f"round-{r}.txt",
                slot_ids[r * per_round : (r + 1) * per_round],
                patients[r * per_round : (r + 1) * per_round],
                r,
            )
            for r in range(rounds)
        ]
        port = free_port()
        servers = {
            "medsvc": stack.enter_context(
                Server("medsvc", "medsvc_launcher:create", medsvc_env(url, port), 1, scratch, port)
            )
        }
        for name, mode in bare_modes.items():
            target = bare_urls[name]
            database = make_url(target).database if mode.startswith("sqlite") else _conninfo(target)
            servers[name] = stack.enter_context(
                Server(
                    name.replace("_", "-"),
                    "bare_booking_app:create",
                    {"BENCH_BARE_MODE": mode, "BENCH_BARE_DB": str(database)},
                    1,
                    scratch,
                )
            )
        counters = {
            "medsvc": Counter(url, MEDSVC_CHECKS["seats"]),
            **{n: Counter(u, BARE_CHECKS["busy_slots"]) for n, u in bare_urls.items()},
        }
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        checks: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        written: dict[str, int] = dict.fromkeys(servers, 0)  # bookings in the database
        for r in range(rounds):
            for name, server in servers.items():  # interleaved: drift hits all alike
                sample = _wrk(server, files[r], args.clients, args.bookings)
                settled = settle(counters[name])
                in_flight = settled - written[name] - sample["ok"]
                written[name] = settled
                found = run_checks(
                    url if name == "medsvc" else bare_urls[name],
                    MEDSVC_CHECKS if name == "medsvc" else BARE_CHECKS,
                )
                wrong = double_bookings(name, found)
                sample.update(
                    booked_in_db=settled, after_run=found, wrong=wrong, in_flight=in_flight
                )
                checks[name].append({"round": r, "found": found, "wrong": wrong})
                label = "warm-up" if r == 0 else f"run {r}"
                print(
                    f"  {label:<7} {name:<10} {sample['rps']:7.1f} bookings/s "
                    f"p50 {sample['p50_ms']:7.1f} ms p99 {sample['p99_ms']:7.1f} ms "
                    f"CPU {sample['server_cpu']:4.0%}  200: {sample['ok']} 409: "
                    f"{sample['conflicts']} other: {sample['others']}  in DB {settled}"
                    + (f"  WRONG {wrong}" if wrong else "")
                    + (f"  {sample['errors']}" if sample["errors"] else ""),
                    flush=True,
                )
                if r > 0:
                    samples[name].append(sample)
        version = postgres_version(url) if backend == "postgresql" else sqlite3.sqlite_version
    keys = ("rps", "p50_ms", "p90_ms", "p99_ms", "max_ms", "server_cpu")
    apps = {
        name: {
            **median_of(s, keys),
            "conflicts": sum(x["conflicts"] for x in s),
            "others": sum(x["others"] + x["socket_errors"] for x in s),
            "responses": sum(x["responses"] for x in s),
            "wrong": sorted({w for c in checks[name] for w in c["wrong"]}),
            "final": checks[name][-1]["found"],
            "runs": s,
        }
        for name, s in samples.items()
    }
    return {
        "version": version,
        "seed_seconds": seed_seconds,
        "bare_modes": bare_modes,
        "apps": apps,
    }


# --- slot search ----------------------------------------------------------------------------


def _seed_city(url: str, args: argparse.Namespace) -> tuple[list[Any], dict[str, Any]]:
    settings = Settings(database_url=url, auth_mode="smart", log_level="WARNING")
    facts: dict[str, Any] = {}
    with booking_seed.Seeder(settings) as seeder:
        city = seeder.city(args.schedules)
        fhir_total = sum(
            booking_seed.slots_per_day(n, d)
            for n in range(args.schedules)
            for d in range(args.fhir_days)
        )
        began = time.monotonic()
        written = seeder.slots(
            booking_seed.calendar(city, args.fhir_days),
            booking_seed.Progress(fhir_total, "FHIR layer"),
        )
        facts["fhir_slots"], facts["fhir_seconds"] = len(written), time.monotonic() - began
        builder = slot_bulk.SlotRows(seeder.server)
        with seeder.database.session(write=True) as session:  # the checks roll back
            facts["checked_fhir"] = slot_bulk.check_rows(builder, session)
        total = sum(
            booking_seed.slots_per_day(n, d)
            for n in range(args.schedules)
            for d in range(args.fhir_days, args.days)
        )
        began = time.monotonic()
        facts["bulk_slots"] = slot_bulk.bulk_calendar(
            seeder,
            city,
            args.fhir_days,
            args.days - args.fhir_days,
            booking_seed.Progress(total, "bulk"),
        )
        facts["bulk_seconds"] = time.monotonic() - began
        with seeder.database.session(write=True) as session:
            facts["checked_bulk"] = slot_bulk.check_rows(builder, session, newest=True)
    if url.startswith("postgresql"):
        began = time.monotonic()
        vacuum_analyze(url)
        facts["vacuum_seconds"] = time.monotonic() - began
    facts["slots"] = Counter(
        url, "SELECT count(*) FROM resource WHERE resource_type = 'Slot' AND NOT deleted"
    )()
    facts["ledger_rows"] = Counter(url, "SELECT count(*) FROM slot_ledger")()
    return city, facts


def _agree(server: Server, raw: slot_search.Raw, shape: slot_search.Shape) -> dict[str, Any]:
    """medsvc's answer over HTTP and the hand-written statement's: the same page of slots,
    in the same order, and the same total (else the run stops). Every variant, unless they
    take long: then as many as CHECK_SECONDS allow, at least MIN_SAMPLES."""
    totals, latencies, began = [], [], time.monotonic()
    with httpx.Client(
        base_url=server.url, timeout=600, headers={"Accept": "application/fhir+json"}
    ) as client:
        for v in shape.variants:
            if len(totals) >= MIN_SAMPLES and time.monotonic() - began > CHECK_SECONDS:
                break
            sent = time.monotonic()
            response = client.request(
                v.method,
                v.path,
                content=orjson.dumps(v.body) if v.body is not None else None,
                headers={"Content-Type": "application/fhir+json"},
            )
            latencies.append(time.monotonic() - sent)
            if response.status_code != 200:
                raise RuntimeError(f"{shape.name}: {response.status_code} {response.text[:500]}")
            served = slot_search.medsvc_answer(shape.name, response.json())
            rows = raw.fetch(raw.sql(slot_search.RAW_SQL[shape.name]), raw.params(v.raw_params))
            expected = slot_search.raw_answer(shape.name, rows)
            if served != expected:
                raise RuntimeError(
                    f"{shape.name}: medsvc and the raw SQL disagree on {v.path} "
                    f"{v.body}: {served} vs {expected}"
                )
            totals.append(served[1])
    return {
        "checked": len(totals),
        "total_min": min(totals),
        "total_median": statistics.median(totals),
        "total_max": max(totals),
        "page": len(served[0]),
        "latency_s": statistics.median(latencies[1:] or latencies),
    }


MIN_SAMPLES = 3  # requests per side and run, however slow
CHECK_SECONDS = 60  # time the answers' check and the capture may take per shape


def search_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{backend}: slot search", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="medsvc-search-") as tmp,
        scratch_database(backend, Path(tmp), "city") as url,
    ):
        scratch = Path(tmp)
        migrate.upgrade(url)
        began = time.monotonic()
        city, facts = _seed_city(url, args)
        facts["seed_seconds"] = time.monotonic() - began
        print(
            f"  seeded {facts['slots']:,} slots in {facts['seed_seconds']:.0f} s "
            f"({facts['fhir_slots']:,} through the FHIR layer in {facts['fhir_seconds']:.0f} s,"
            f" {facts['bulk_slots']:,} in bulk in {facts['bulk_seconds']:.0f} s)",
            flush=True,
        )
        settings = Settings(database_url=url, auth_mode="smart", log_level="WARNING")
        shapes = slot_search.shapes(city, args.days)
        raw = slot_search.Raw(url)
        port = free_port()
        results = []
        try:
            with Server(
                "medsvc-search", "medsvc_launcher:create", medsvc_env(url, port), 1, scratch, port
            ) as server:
                plans = {
                    shape.name: _prepare_shape(server, raw, settings, shape, scratch, args)
                    for shape in shapes
                }
                runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
                for n in range(args.search_runs):
                    for shape in shapes:
                        plan = plans[shape.name]
                        if n >= plan["runs"]:
                            continue
                        served = _wrk(
                            server, plan["file"], 1, MIN_SAMPLES, args.search_seconds, cycle=True
                        )
                        if served["others"] or served["socket_errors"]:
                            raise RuntimeError(f"{shape.name}: errors {served}")
                        runs.setdefault((shape.name, "medsvc"), []).append(served)
                        for kind, run in plan["loops"].items():
                            timed = slot_search.summary(
                                slot_search.time_loop(
                                    run, plan["variants"][kind], args.search_seconds, MIN_SAMPLES
                                )
                            )
                            runs.setdefault((shape.name, kind), []).append(timed)
                        m, q, r = (runs[(shape.name, k)][-1] for k in ("medsvc", "raw", "replay"))
                        print(
                            f"  run {n + 1} {shape.name:<22} medsvc p50 {m['p50_ms']:7.2f} "
                            f"p99 {m['p99_ms']:7.2f}  raw p50 {q['p50_ms']:6.2f} p99 "
                            f"{q['p99_ms']:6.2f}  medsvc's SQL p50 {r['p50_ms']:7.2f} p99 "
                            f"{r['p99_ms']:7.2f} ms",
                            flush=True,
                        )
        finally:
            raw.close()
        keys = ("p50_ms", "p99_ms")
        for shape in shapes:
            plan = plans[shape.name]
            results.append(
                {
                    "name": shape.name,
                    "label": shape.label,
                    **plan["facts"],
                    "runs_done": plan["runs"],
                    **{
                        kind: {
                            **median_of(runs[(shape.name, kind)], keys),
                            "runs": runs[(shape.name, kind)],
                        }
                        for kind in ("medsvc", "raw", "replay")
                    },
                }
            )
        version = postgres_version(url) if backend == "postgresql" else sqlite3.sqlite_version
    return {"version": version, "facts": facts, "shapes": results}


def _prepare_shape(
    server: Server,
    raw: slot_search.Raw,
    settings: Settings,
    shape: slot_search.Shape,
    scratch: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Captures medsvc's statements, checks the answers, warms up, and decides how many runs
    the shape gets: a request slower than a run's share (search_seconds / MIN_SAMPLES) gets
    one run of MIN_SAMPLES requests, so that one slow shape does not take an hour."""
    captured = slot_search.capture(settings, shape, CHECK_SECONDS, MIN_SAMPLES)
    facts = _agree(server, raw, shape)
    facts["statements"] = statistics.median(len(v.statements) for v in shape.variants[:captured])
    facts["captured"] = captured
    slow = facts["latency_s"] > args.search_seconds / MIN_SAMPLES
    path = scratch / f"{shape.name}.txt"
    path.write_text(slot_search.request_lines(shape))
    loops = _loops(raw, shape)
    if not slow:  # warm-up, not recorded
        _wrk(server, path, 1, MIN_SAMPLES, 2, cycle=True)
        for kind, run in loops.items():
            slot_search.time_loop(run, captured if kind == "replay" else len(shape.variants), 1)
    facts["slow"] = slow
    print(
        f"  {shape.name}: {facts['checked']} answers agree with the raw SQL (total "
        f"{facts['total_median']:.0f}), {facts['statements']:.0f} statements captured"
        + (f"; {facts['latency_s']:.1f} s a request: one run" if slow else ""),
        flush=True,
    )
    return {
        "file": path,
        "loops": loops,
        "facts": facts,
        "runs": 1 if slow else args.search_runs,
        "variants": {"raw": len(shape.variants), "replay": captured},
    }


def _loops(raw: slot_search.Raw, shape: slot_search.Shape) -> dict[str, Any]:
    """The two SQL loops of a shape: the hand-written statement, and medsvc's own statements
    replayed in order. Parameters are prepared beforehand, as a program would hold them."""
    sql = raw.sql(slot_search.RAW_SQL[shape.name])
    params = [raw.params(v.raw_params) for v in shape.variants]

    def hand_written(i: int) -> None:
        raw.fetch(sql, params[i])

    def replayed(i: int) -> None:
        for statement, parameters in shape.variants[i].statements:
            raw.fetch(statement, parameters)

    return {"raw": hand_written, "replay": replayed}


# --- the run --------------------------------------------------------------------------------


def code_digest() -> str:
    """A digest of the code a run measures (src/, fhir_profiles/, migrations/)."""
    digest = hashlib.sha256()
    for folder in ("src", "fhir_profiles", "migrations"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def code_state(commit: str, digest: str) -> str:
    """The commit measured. When the code itself did not change during the run, that is the
    commit at its end (a commit of the measured working tree during the run is no change);
    otherwise report.code_state says that it changed."""
    if code_digest() == digest:
        return report.commit()
    return report.code_state(commit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scenario", choices=("booking", "search", "both"), default="both")
    parser.add_argument(
        "--booking-runs",
        type=int,
        default=5,
        help="measured booking runs per app; medians are kept",
    )
    parser.add_argument(
        "--search-runs",
        type=int,
        default=3,
        help="measured search runs per request shape; medians are kept",
    )
    parser.add_argument("--bookings", type=int, default=1000, help="counted bookings per run")
    parser.add_argument("--clients", type=int, default=64, help="concurrent booking clients")
    parser.add_argument(
        "--no-naive",
        dest="naive",
        action="store_false",
        help="skip the naive bare endpoint on SQLite",
    )
    parser.add_argument("--schedules", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument(
        "--fhir-days",
        type=int,
        default=1,
        help="days of the search city written through the FHIR layer",
    )
    parser.add_argument(
        "--search-seconds",
        type=int,
        default=8,
        help="seconds per measured search run, per shape and per side",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: a small city, 300 bookings, 1 run; prints the section",
    )
    parser.add_argument("--output", type=Path, help="page (default docs/benchmarks.md)")
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only rewrite the section from a saved run"
    )
    args = parser.parse_args()
    output = args.output or ROOT / "docs" / "benchmarks.md"
    if args.render:
        saved = json.loads(args.render.read_text())
        section = booking_report.render(saved)
        booking_report.write_section(output, section)
        print(f"wrote the booking section of {output}")
        return 0
    if args.quick:
        args.schedules, args.days = min(args.schedules, 40), min(args.days, 10)
        args.booking_runs, args.search_runs = 1, 1
        args.bookings, args.search_seconds = min(args.bookings, 300), 2
    if shutil.which("wrk") is None:
        print("bench: needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 2
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started, commit, digest = time.monotonic(), report.commit(), code_digest()
    results = []
    for backend in backends:
        result: dict[str, Any] = {"backend": backend}
        if args.scenario in ("booking", "both"):
            result["booking"] = booking_backend(backend, args)
        if args.scenario in ("search", "both"):
            result["search"] = search_backend(backend, args)
        results.append(result)
    saved = {
        "args": {k: v for k, v in vars(args).items() if not isinstance(v, Path)},
        "elapsed": time.monotonic() - started,
        "code": code_state(commit, digest),
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": booking_report.machine(),
        "results": results,
    }
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    name = "booking-quick.json" if args.quick else "booking-latest.json"
    (BENCH_DIR / "results" / name).write_text(json.dumps(saved, indent=1, default=str))
    section = booking_report.render(saved)
    if args.quick and not args.output:
        print(section)
    else:
        booking_report.write_section(output, section)
        print(f"wrote the booking section of {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
