"""The booking benchmark's section of docs/benchmarks.md: its tables, targets and method,
between markers that bench/report.py keeps when http_bench.py rewrites the page."""

import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from page import NEEDS_WRK_AND_POSTGRES, reproducing, verdict, write_marked

START, END = "<!-- booking-bench:start -->", "<!-- booking-bench:end -->"
BOOKING_RATIO = 0.5  # medsvc books at least half the bare endpoint's rate
SQLITE_P99_MS = 100.0  # booking p99 on SQLite at 64 clients
SEARCH_RATIO = 3.0  # slot search p99 at most 3x the raw query
SEARCH_P99_MS = 20.0  # and under 20 ms on PostgreSQL
VARIANTS = 40  # slot_search.VARIANTS
APP_LABELS = {
    "medsvc": "medsvc `$book`",
    "bare": "bare endpoint",
    "bare_naive": "bare endpoint, naive",
}


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next(
        (
            f"{int(x.split()[1]) / 1024 / 1024:.1f} GiB"
            for x in Path("/proc/meminfo").read_text().splitlines()
            if x.startswith("MemTotal")
        ),
        "unknown",
    )
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return {
        "cores": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk.split("[")[0].strip() or "wrk",
        "versions": ", ".join(
            f"{p} {version(p)}"
            for p in ("uvicorn", "fastapi", "starlette", "sqlalchemy", "psycopg")
        ),
    }


def write_section(page: Path, section: str) -> None:
    write_marked(page, section, START, END)


def _ms(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 100 else f"{value:.1f}x"


# --- booking --------------------------------------------------------------------------------


def _booking_table(backend: dict[str, Any]) -> list[str]:
    apps = backend["booking"]["apps"]
    rows = [
        "| app | bookings/s | p50 ms | p99 ms | max ms | server CPU | 409s | other errors "
        "| medsvc/app |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, a in apps.items():
        ratio = "" if name == "medsvc" else f"{apps['medsvc']['rps'] / a['rps']:.1%}"
        rows.append(
            f"| {APP_LABELS[name]} | {a['rps']:,.0f} | {_ms(a['p50_ms'])} | "
            f"{_ms(a['p99_ms'])} | {_ms(a['max_ms'])} | {a['server_cpu']:.0%} | "
            f"{a['conflicts']:.0f} | {a['others']:.0f} | {ratio} |"
        )
    return rows


def _booking_checks(backend: dict[str, Any]) -> str:
    apps = backend["booking"]["apps"]
    m = apps["medsvc"]["final"]
    wrong = {name: a["wrong"] for name, a in apps.items() if a["wrong"]}
    in_flight = [r["in_flight"] for r in apps["medsvc"]["runs"]]
    text = (
        f"After the last run the medsvc database held {m['seats']:,} seats, "
        f"{m['appointments']:,} Appointments ({m['booked_appointments']:,} booked) and "
        f"{m['busy_slots']:,} busy Slots; no seat number twice, no slot with two seats or "
        "in two Appointments, no ledger count over capacity or different from its seats, "
        "no seated slot shown other than busy, no slot written busy twice"
        if not wrong.get("medsvc")
        else f"medsvc: **{'; '.join(wrong['medsvc'])}**"
    )
    counted = apps["medsvc"]["runs"][0]["responses"]
    text += (
        f". medsvc bookings written beyond the {counted:,} counted answers (in flight "
        f"when wrk stopped), per run: {', '.join(str(x) for x in in_flight)}."
    )
    for name in (n for n in apps if n != "medsvc"):
        f = apps[name]["final"]
        text += (
            f" {APP_LABELS[name]}: {f['appointments']:,} appointments, {f['busy_slots']:,} "
            "busy slots, "
            + (
                "no slot in two appointments."
                if not wrong.get(name)
                else f"**{'; '.join(wrong[name])}**."
            )
        )
    return text


def _booking_runs(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| app | bookings/s per run | p99 ms per run | 200 / 409 / other per run |",
        "| --- | --- | --- | --- |",
    ]
    for name, a in backend["booking"]["apps"].items():
        rates = ", ".join(f"{r['rps']:,.0f}" for r in a["runs"])
        tails = ", ".join(_ms(r["p99_ms"]) for r in a["runs"])
        answers = ", ".join(f"{r['ok']}/{r['conflicts']}/{r['others']}" for r in a["runs"])
        rows.append(f"| {APP_LABELS[name]} | {rates} | {tails} | {answers} |")
    return rows


# --- search ---------------------------------------------------------------------------------


def _search_table(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| request | matches | medsvc p50 | medsvc p99 | raw SQL p50 | raw SQL p99 | "
        "p99 medsvc/raw | medsvc's SQL p50 | medsvc's SQL p99 | its statements |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in backend["search"]["shapes"]:
        m, r, q = s["medsvc"], s["raw"], s["replay"]
        matches = (
            f"{s['total_median']:.0f}"
            if s["total_min"] == s["total_max"]
            else f"{s['total_min']}-{s['total_max']}"
        )
        rows.append(
            f"| {s['label']} | {matches} | {_ms(m['p50_ms'])} | {_ms(m['p99_ms'])} | "
            f"{_ms(r['p50_ms'])} | {_ms(r['p99_ms'])} | "
            f"{_ratio(m['p99_ms'] / r['p99_ms'])} | {_ms(q['p50_ms'])} | "
            f"{_ms(q['p99_ms'])} | {s['statements']:.0f} |"
        )
    return rows


def _search_notes(backend: dict[str, Any]) -> str:
    notes = []
    for s in backend["search"]["shapes"]:
        if s["checked"] == s["captured"] == VARIANTS and not s.get("slow"):
            continue
        note = (
            f"`{s['name']}`: the answers of {s['checked']} of its {VARIANTS} variants were "
            f"checked against the raw SQL, and medsvc's statements captured for "
            f"{s['captured']}"
        )
        if s.get("slow"):
            note += (
                f"; a request took {s['latency_s']:.1f} s, so it had one run of at least "
                "3 requests per side"
            )
        notes.append(note)
    if not notes:
        return (
            f"Every request's {VARIANTS} variants were checked against the raw SQL "
            "(same page, same total) and their statements captured."
        )
    return "All variants were checked and captured except: " + "; ".join(notes) + "."


def _search_runs(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| request | side | requests per run | p50 ms per run | p99 ms per run |",
        "| --- | --- | --- | --- | --- |",
    ]
    sides = {"medsvc": "medsvc", "raw": "raw SQL", "replay": "medsvc's SQL"}
    for s in backend["search"]["shapes"]:
        for kind, label in sides.items():
            runs = s[kind]["runs"]
            counts = ", ".join(f"{r.get('responses', r.get('count', 0)):,}" for r in runs)
            rows.append(
                f"| {s['name']} | {label} | {counts} | "
                f"{', '.join(_ms(r['p50_ms']) for r in runs)} | "
                f"{', '.join(_ms(r['p99_ms']) for r in runs)} |"
            )
    return rows


# --- targets --------------------------------------------------------------------------------


def targets(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for b in (b for b in results if "booking" in b):
        apps = b["booking"]["apps"]
        ratio = apps["medsvc"]["rps"] / apps["bare"]["rps"]
        per_run = ", ".join(
            f"{m['rps'] / x['rps']:.0%}"
            for m, x in zip(apps["medsvc"]["runs"], apps["bare"]["runs"], strict=True)
        )
        lines.append(
            f"- Booking at least {BOOKING_RATIO:.0%} of the bare endpoint's rate, "
            f"{b['backend']}: {apps['medsvc']['rps']:,.0f} against "
            f"{apps['bare']['rps']:,.0f} bookings/s, {ratio:.1%} (run by run: "
            f"{per_run}): {verdict(ratio >= BOOKING_RATIO)}."
        )
        clean = not any(a["wrong"] for a in apps.values())
        conflicts = sum(a["conflicts"] + a["others"] for a in apps.values())
        lines.append(
            f"- Zero double bookings, {b['backend']}: "
            + (
                "none found in the database after every run, and no 409 or other "
                "error among the counted answers (each request books a distinct free "
                "slot)"
                if clean and not conflicts
                else f"problems found: {[a['wrong'] for a in apps.values()]}, "
                f"{conflicts} 409s or errors"
            )
            + f": {verdict(clean and not conflicts)}."
        )
        if b["backend"] == "sqlite":
            p99 = apps["medsvc"]["p99_ms"]
            rate = apps["medsvc"]["rps"]
            clients = b["booking"].get("clients", 64)
            p50 = apps["medsvc"]["p50_ms"]
            spread = (
                "close to the median, so it is queueing behind the one writer, not lock back-off"
                if p99 < 1.5 * p50
                else f"{p99 / p50:.1f}x the median"
            )
            lines.append(
                f"- Booking p99 under {SQLITE_P99_MS:.0f} ms on SQLite at {clients} clients: "
                f"{p99:.0f} ms: {verdict(p99 < SQLITE_P99_MS)}. The tail ({p99:.0f} ms) is "
                f"{spread} (p50 {p50:.0f} ms). In a closed loop, {clients} clients that each "
                f"book again when answered wait, by Little's law, about {clients} / throughput "
                f"= {clients / rate * 1000:.0f} ms at {rate:,.0f} bookings/s: a p99 under "
                f"{SQLITE_P99_MS:.0f} ms needs more than {clients / (SQLITE_P99_MS / 1000):,.0f} "
                "bookings/s, i.e. under "
                f"{SQLITE_P99_MS / clients:.1f} ms of writer time per booking."
            )
    for b in (b for b in results if "search" in b):
        for s in b["search"]["shapes"]:
            ratio = s["medsvc"]["p99_ms"] / s["raw"]["p99_ms"]
            replay = s["medsvc"]["p99_ms"] / s["replay"]["p99_ms"]
            line = (
                f"- Slot search p99 at most {SEARCH_RATIO:.0f}x the raw query, "
                f"{b['backend']}, {s['name']}: {_ms(s['medsvc']['p99_ms'])} ms against "
                f"{s['raw']['p99_ms']:.2f} ms, {_ratio(ratio)}: "
                f"{verdict(ratio <= SEARCH_RATIO)} (against medsvc's own statements "
                f"replayed, {s['replay']['p99_ms']:.2f} ms: {_ratio(replay)})"
            )
            if b["backend"] == "postgresql":
                p99 = s["medsvc"]["p99_ms"]
                line += f"; under {SEARCH_P99_MS:.0f} ms: {verdict(p99 < SEARCH_P99_MS)}"
            lines.append(line + ".")
    return lines


# --- the section ----------------------------------------------------------------------------


def _booking_method(args: dict[str, Any], mach: dict[str, str]) -> list[str]:
    slots = (1 + args["booking_runs"]) * (args["bookings"] + args["clients"])  # fresh per run
    return [
        f"**Booking.** `POST /fhir/Appointment/$book` with a Parameters body (`slot`, "
        f"`patient-id`), as the platform, from {args['clients']} concurrent clients, beside a "
        "**bare booking endpoint** (`bench/bare_booking_app.py`): a FastAPI `def` endpoint "
        "that reads the same body and runs `UPDATE slot SET status = 'busy' WHERE id = :id "
        "AND status = 'free'` and, if one row changed, `INSERT INTO appointment ...`, "
        "committed, on a database of the same kind with just those two tables. On SQLite the "
        "bare endpoint's design is one writer connection behind a lock, each booking in "
        "`BEGIN IMMEDIATE`, so that writers queue in-process instead of spinning on SQLite's "
        "lock (as DESIGN.md asks and medsvc does); the **naive** variant beside it gives "
        "each worker thread its own connection and a deferred `BEGIN`, so concurrent "
        "writers wait in SQLite's busy handler (sleep and retry). On PostgreSQL the bare "
        "endpoint takes a connection from a pool of 16 (medsvc's pool size).",
        "",
        "- Each app runs in its own uvicorn process (1 worker) on its own fresh database. "
        "medsvc is `medsvc.app.create_app` with default settings (request log at INFO to a "
        "file, periodic jobs in-process) and every caller acting as the platform: built in "
        "sign-in mode, then switched to open mode so the real `auth_context` dependency runs "
        "(`bench/medsvc_launcher.py`, as `make bench`). Sign-in mode with tokens is not "
        "measured: a token check and an audit record would be added to every booking.",
        f"- medsvc's database is seeded through the FHIR layer: {slots:,} free Slots of "
        "20 schedules (a small city of hospitals, locations and doctors) and as many "
        "Patients; the bare databases get rows for the same slot ids. PostgreSQL databases "
        "are `VACUUM ANALYZE`d after seeding (as autovacuum would soon do); SQLite gets none.",
        f"- Load: {mach['wrk']}, 1 thread, {args['clients']} keep-alive connections, closed loop "
        "(each connection sends its next booking when the last is answered), "
        "`bench/booking.lua`. Every request books a different free slot for a different "
        f"patient, read from a file. A run counts {args['bookings']:,} answers: at the "
        f"{args['bookings']:,}th the script notes the time and stops, and the runner "
        "interrupts wrk. Bookings/s is the count over the time from the first request sent "
        "to the last counted answer; p50/p99 are wrk's latency percentiles of the run. The "
        f"{args['clients']} requests still in flight at the stop are answered and written "
        f"afterwards; every run reads {args['bookings'] + args['clients']:,} fresh slots, so "
        "they too book free slots, and the runner waits until the database stops changing "
        "before the checks and the next run.",
        "- One warm-up run per app (not recorded), then "
        f"{args['booking_runs']} runs, the apps taking turns within each run; the tables "
        "show medians of the runs. After every run the "
        "database is checked with SQL: on medsvc's, every `slot_seat` (slot, seat) unique and "
        "one seat per slot (capacity 1), `slot_ledger.taken` within capacity and equal to "
        "its seats, the Appointments, the booked Appointments and their slot references "
        "each equal to the seats, no slot in two Appointments, every seated Slot shown busy, "
        "and no Slot written busy twice (version 2 at most); on the bare ones, appointments "
        "equal busy slots and no slot twice.",
        "",
    ]


def _search_method(args: dict[str, Any], results: list[dict[str, Any]]) -> list[str]:
    return [
        f"**Slot search.** Among {_search_slots(results)} Slots: {args['schedules']} schedules "
        f"x {args['days']} days x 22 or 23 slots of 20 minutes a day (08:00 on; two days in "
        "nine have 23), every Slot and schedule carrying one of 20 specialties (SNOMED CT "
        "practice settings; "
        f"{args['schedules'] // 20} schedules each) and a service type. The schedules belong to "
        "10 hospitals with 5 locations each, one doctor per schedule. Four requests, each in "
        "40 variants (schedules, specialties and days drawn at random, fixed seed) that the "
        "runs cycle through:",
        "",
        "- `GET /fhir/Slot?schedule=Schedule/X&status=free&start=geD&start=ltD+7`: one "
        "schedule's free slots over 7 days;",
        "- `GET /fhir/Slot?specialty=http://snomed.info/sct|CODE&status=free&start=geD&"
        "start=ltD+1`: one specialty's free slots across the city in a day;",
        "- `POST /fhir/Appointment/$find` with `start`, `end` (7 days) and `practitioner` "
        "(the schedule's doctor);",
        "- `POST /fhir/Appointment/$find` with `start`, `end` (1 day) and `specialty`.",
        "",
        "Each answers a page of 20 (the default page size) and the total. Beside each: the "
        "**raw SQL**, one hand-written statement against the same tables that returns the "
        "same page (ids in the same order, with the resources' JSON; for $find also the "
        "schedule's, from which a proposal is built) and the same total; Slot search "
        "reads the search index, as medsvc's does, and $find the booking ledger, as "
        "medsvc's does. Each statement finds the matches, counts them, takes the page by "
        "key and reads the JSON of the page's rows only (`bench/slot_search.py`, "
        "`RAW_SQL`; their plans were checked with EXPLAIN on both databases, and on "
        "SQLite, which has no statistics, written so that the selective criterion drives "
        "and the more selective probe comes first). Before the runs every variant's answer "
        "from medsvc "
        "over HTTP is compared with the raw statement's: same ids, same order, same total. "
        "Also beside each: **medsvc's SQL**, the statements medsvc itself sends for the "
        "request (captured in-process through the FHIR layer) replayed in order through the "
        "driver, which splits medsvc's time into database and the rest.",
        "",
        "- Timing: requests are sent **one at a time** (wrk, 1 connection), because the "
        "targets compare latency with a query's: one client measures the service time "
        "without queueing, which is what the raw loop measures too. The raw SQL runs in a "
        "Python loop on one driver connection (sqlite3 or psycopg, autocommit as medsvc's "
        "reads), the wall time of each `execute` + `fetchall` (or of the whole replayed "
        f"sequence) taken with `time.perf_counter`. Each side runs {args['search_seconds']} s "
        "(and at least 3 requests) per request shape per run, after a short warm-up; "
        f"{args['search_runs']} runs, medians of their p50 and p99. A shape whose requests "
        "take longer than a third of a run gets one run of at least 3 requests per side; "
        "checking its answers and capturing its statements then stop after a minute "
        "(at least 3 variants).",
        "- Seeding: writing a Slot through the FHIR layer (`bundle.run_transaction`, 1,000 "
        "per transaction) is measured on the first "
        f"{args['fhir_days']} day(s) of the calendar (table below); at that rate a million "
        "would take longer than the run should, so the other days are written in bulk "
        "(`bench/slot_bulk.py`): the rows the FHIR layer writes for a Slot (resource, "
        "resource_version, the search index rows and the slot_ledger row) are built once "
        "per schedule and time of day with medsvc's own code (`store.stamp`, "
        "`indexing.rows_for`, and the Slot `after_write` hook for the ledger row, run in a "
        "savepoint that is rolled back), copied with new ids, keys and instants, and "
        "inserted with executemany (SQLite) or COPY (PostgreSQL). The run checks, before "
        "measuring, that those rows equal, byte for byte and row for row, what the FHIR "
        "layer wrote for 200 Slots, that copies equal directly built rows, and that 200 "
        "bulk-written Slots read back as built.",
        "",
    ]


def render(saved: dict[str, Any]) -> str:
    args, results, mach = saved["args"], saved["results"], saved["machine"]
    for b in results:
        if "booking" in b:
            b["booking"]["clients"] = args["clients"]
    out = [
        START,
        "## Booking and slot search (booking issue, item 11)",
        "",
        "Written by `bench/booking_bench.py` (`make bench-booking`) between the "
        "`booking-bench` markers, which `make bench` keeps; do not edit by hand. Generated "
        f"{saved['when']} at commit {saved['code']}; the whole run took "
        f"{saved['elapsed'] / 60:.1f} minutes.",
        "",
        "### What is measured, and how",
        "",
    ]
    if any("booking" in b for b in results):
        out += _booking_method(args, saved["machine"])
    if any("search" in b for b in results):
        out += _search_method(args, results)
    out += [
        "### Machine",
        "",
        f"- {mach['cores']} cores, {mach['cpu']}, {mach['memory']} RAM, Linux {mach['kernel']}",
        f"- Python {mach['python']}, {mach['versions']}; {mach['wrk']}",
    ]
    for b in results:
        line = f"- {b['backend']}: {(b.get('booking') or b.get('search'))['version']}"
        if "search" in b:
            f = b["search"]["facts"]
            line += (
                f"; search city: {f['slots']:,} Slots ({f['ledger_rows']:,} ledger rows) "
                f"seeded in {f['seed_seconds'] / 60:.1f} min: {f['fhir_slots']:,} "
                f"through the FHIR layer in {f['fhir_seconds']:.0f} s "
                f"({f['fhir_slots'] / f['fhir_seconds']:,.0f} Slots/s, so a million "
                f"would take {1e6 / (f['fhir_slots'] / f['fhir_seconds']) / 60:.0f} min), "
                f"{f['bulk_slots']:,} in bulk in {f['bulk_seconds']:.0f} s"
            )
            if "vacuum_seconds" in f:
                line += f", then VACUUM ANALYZE ({f['vacuum_seconds']:.0f} s)"
        out.append(line)
    out += [
        "",
        "Server, load generator, the bench's own Python and the database server share "
        "the two cores; the ratios, measured the same way in the same run, carry over "
        "better than the absolute figures.",
        "",
    ]
    for b in (b for b in results if "booking" in b):
        out += [f"### Booking: {b['backend']}", "", *_booking_table(b), "", _booking_checks(b), ""]
    for b in (b for b in results if "search" in b):
        out += [
            f"### Slot search: {b['backend']}",
            "",
            "Latency in ms, one request at a time. `matches` is the total (the page holds 20).",
            "",
            *_search_table(b),
            "",
            _search_notes(b),
            "",
        ]
    out += ["### Targets", "", *targets(results), ""]
    out += ["### Raw runs", ""]
    for b in results:
        if "booking" in b:
            out += [f"Booking, {b['backend']}:", "", *_booking_runs(b), ""]
        if "search" in b:
            out += [f"Slot search, {b['backend']}:", "", *_search_runs(b), ""]
    out += reproducing(
        [
            "make bench-booking                                  # both backends, full size",
            ".venv/bin/python bench/booking_bench.py --quick     # smoke test, prints it",
            ".venv/bin/python bench/booking_bench.py --backend sqlite --scenario booking",
        ],
        NEEDS_WRK_AND_POSTGRES,
        "booking",
        END,
    )
    return "\n".join(out)


def _search_slots(results: list[dict[str, Any]]) -> str:
    counts = {b["search"]["facts"]["slots"] for b in results if "search" in b}
    return " / ".join(f"{c:,}" for c in sorted(counts)) or "?"
