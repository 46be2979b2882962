"""Renders docs/benchmarks.md from the medians of a benchmark run, targets included."""

import argparse
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import tables
from app_report import END as APP_END
from app_report import START as APP_START
from booking_report import END as BOOKING_END
from booking_report import START as BOOKING_START
from checks_bench import END as CHECKS_END
from checks_bench import START as CHECKS_START
from results_report import END as RESULTS_END
from results_report import START as RESULTS_START
from subscriptions_report import END as SUBSCRIPTIONS_END
from subscriptions_report import START as SUBSCRIPTIONS_START


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _wrk_version() -> str:
    out = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return out.split("[")[0].strip() or "wrk"


def commit() -> str:
    root = Path(__file__).resolve().parents[1]
    head = (
        subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        or "unknown"
    )
    dirty = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--", "src"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head} (with uncommitted changes in src/)" if dirty else head


AUTH = {
    "open": "the app switched to open mode after it is built, so the real `auth_context` "
    "dependency runs as under `make run`",
    "override": "`app.dependency_overrides[auth_context]`, as the tests do, with the app in "
    "sign-in mode (so it audits every access)",
}


def code_state(started_at: str) -> str:
    """The commit measured; says so when the code changed while the run went on."""
    ended_at = commit()
    if ended_at == started_at:
        return started_at
    return f"{started_at} (the code changed during the run: {ended_at} at its end)"


WHY_SYNC = (
    "medsvc's design runs FHIR interactions as synchronous code in worker threads, so most "
    "requests pay a hand-off from the event loop to a thread and back that an `async def` "
    "endpoint never pays (on SQLite, a read of one resource by id is the exception: it runs "
    "on the event loop). The bare sync app pays that hand-off and nothing else, so "
    "medsvc/bare sync is the like-for-like ratio: what medsvc's own work costs, given its "
    'design. The target\'s wording ("a bare FastAPI endpoint") does not say which kind, so '
    "the ratio against bare async is shown beside it and judged as well."
)


PAGE = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def kept_section(page: Path) -> list[str]:
    """The booking, results, subscriptions, app and checks benchmarks' sections of the page
    (written by bench/booking_bench.py, results_bench.py, subscriptions_bench.py, app_bench.py
    and checks_bench.py between their markers), kept as they are when this report rewrites
    the page."""
    text = page.read_text() if page.exists() else ""
    kept = []
    sections = (
        (BOOKING_START, BOOKING_END),
        (RESULTS_START, RESULTS_END),
        (SUBSCRIPTIONS_START, SUBSCRIPTIONS_END),
        (APP_START, APP_END),
        (CHECKS_START, CHECKS_END),
    )
    for start, end in sections:
        if start in text and end in text:
            kept += [start + text.split(start, 1)[1].split(end, 1)[0] + end, ""]
    return kept


def render(
    results: list[dict[str, Any]], args: argparse.Namespace, elapsed: float, code: str, when: str
) -> str:
    out = [
        "# Benchmarks",
        "",
        "Written by `bench/http_bench.py` (`make bench`); do not edit by hand. Generated "
        f"{when} at commit {code}; the whole run took {elapsed / 60:.1f} minutes.",
        "",
        "## What is measured",
        "",
        "Four FHIR interactions over HTTP, and the read again with its audit record, each "
        "beside two **bare FastAPI apps** that answer "
        "the same request with the same response bytes (captured from medsvc just before the "
        "runs), so the ratios are what medsvc adds on top of uvicorn + FastAPI itself (and, "
        "for bare sync, a hand-off to a worker thread):",
        "",
        "- **bare async**: `async def` endpoints, run on the event loop.",
        "- **bare sync**: plain `def` endpoints, which FastAPI runs in its threadpool "
        "(Starlette's `run_in_threadpool`: anyio worker threads, default limit 40). A `def` "
        "endpoint cannot await the request body, so the two POST endpoints take it from a "
        "small `async def` dependency (`await request.body()`), which FastAPI resolves on the "
        "event loop before it hands the endpoint to a thread. This is FastAPI's own sync "
        "endpoint; medsvc hands its work to threads its own way (`loop.run_in_executor` on "
        "its own read and write thread pools, bypassing FastAPI's dependency solving), so the "
        "two hand-offs are alike in kind, not identical in cost.",
        "",
        "Both bare apps are `bench/bare_app.py`; POST bodies are read in full on all three "
        "apps, so upload cost counts on every side. The scenarios:",
        "",
        "- **create**: `POST /fhir/Patient`, a small Patient (201, body returned).",
        "- **read**: `GET /fhir/Patient/{id}` of one Patient.",
        "- **read, audited**: the same read from a second medsvc process on the same "
        "database, in sign-in mode with its callers let in by a dependency override "
        "(`BENCH_AUTH=override`), so that every read writes an AuditEvent as in production "
        "(open mode, which the other scenarios use, records none). Its medsvc column is that "
        "process.",
        f"- **search**: `GET /fhir/{results[0]['query']}`: one day of one schedule "
        f"(ten slots) among {args.slots:,} Slots on 100 schedules.",
        "- **transaction**: `POST /fhir`, a Bundle of one new Patient and 49 Observations "
        "referring to it by `urn:uuid` (every request creates 50 new resources). Also run with "
        "a single client, to show the service time without queueing.",
        "",
        "## How",
        "",
        f"- Each app runs in its own `uvicorn` process ({args.workers} worker; uvloop and "
        "httptools) on a free loopback port. medsvc is `medsvc.app.create_app` with its "
        "default settings (request log at INFO, to a file), a fresh migrated database in a "
        "temporary directory (SQLite) or a dedicated `medsvc_bench_*` database that is dropped "
        "afterwards (PostgreSQL), and every caller acting as the platform: "
        f"{AUTH[args.auth]} (`bench/medsvc_launcher.py`, `--auth`).",
        "- Slots are seeded in-process through the FHIR layer (`bundle.run_transaction`, "
        "1,000 Slots per transaction), so they are validated and indexed as over HTTP. On "
        "PostgreSQL the seeding ends with `VACUUM ANALYZE`, as autovacuum would soon do on a "
        "live server (and would otherwise do in the middle of the runs); SQLite has no such "
        "background step and gets none.",
        f"- Load generator: **{_wrk_version()}**, 1 thread, 16 keep-alive connections "
        f"(closed loop: each connection sends its next request when the last is answered), "
        f"`bench/wrk.lua`. Each scenario and app: one 3 s warm-up, then {args.runs} run(s) "
        f"of {args.duration:g} s, the three apps taking turns on each scenario in every run; "
        "the tables show the median of the runs for each figure. A run lasts at least ten "
        "warm-up p50 latencies (up to 60 s): each run starts all connections at once, and a "
        "server that interleaves slow requests finishes its first ones only after about one "
        "latency.",
        "- `CPU` is an app's uvicorn process CPU time over wall time (100% = one core "
        "saturated; more means threads ran outside the GIL, e.g. in SQLite or the driver); "
        "`wrk CPU` the same for the load generator during the medsvc runs. Latencies are in "
        "milliseconds.",
        "",
        "## Machine",
        "",
        f"- {len(os.sched_getaffinity(0))} cores (`nproc`), {_cpu_model()}, {_memory()} RAM, "
        f"Linux {platform.release()}",
        f"- Python {platform.python_version()}, uvicorn {version('uvicorn')}, "
        f"FastAPI {version('fastapi')}, Starlette {version('starlette')}, "
        f"anyio {version('anyio')}, SQLAlchemy {version('sqlalchemy')}, "
        f"psycopg {version('psycopg')}",
        *[
            f"- {b['backend']}: {b['version']}; seeding {b['slots']:,} Slots took "
            f"{b['seed_seconds']:.0f} s"
            for b in results
        ],
        "",
        "Everything shares the machine's cores: server, load generator and, for PostgreSQL, "
        "the database server. wrk is written in C and uses a small share of a core, far less "
        "than a Python generator would, but the absolute numbers are still those of a small "
        "shared machine. The ratios against the bare apps, measured the same way in the same "
        "run, are what carry over.",
        "",
    ]
    for backend in results:
        out += [
            f"## Results: {backend['backend']}",
            "",
            *tables.throughput(backend),
            "",
            "Latency (ms) and the other processes' CPU:",
            "",
            *tables.latency(backend),
            "",
        ]
    out += ["## Reading the numbers", "", *tables.reading(results), ""]
    out += ["## Targets", "", *tables.targets(results), "", WHY_SYNC, ""]
    out += ["## Raw runs", ""]
    for backend in results:
        out += [f"{backend['backend']}:", "", *tables.runs(backend), ""]
    out += [
        "## Reproducing",
        "",
        "```sh",
        "make bench                                   # both backends, full size",
        ".venv/bin/python bench/http_bench.py --quick  # smoke test, prints the page",
        ".venv/bin/python bench/http_bench.py --backend sqlite --runs 5 --duration 10",
        "```",
        "",
        "Needs `wrk` (`apt-get install -y wrk`) and, for PostgreSQL, a server at "
        "127.0.0.1:5432 (user `postgres`, trust; `MEDSVC_BENCH_POSTGRES_URL` points "
        "elsewhere). Raw samples of the last run are kept in `bench/results/latest.json`.",
        "",
    ]
    out += kept_section(getattr(args, "output", None) or PAGE)  # the page being rewritten
    return "\n".join(out)
