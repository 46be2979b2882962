"""Renders docs/benchmarks.md from the medians of a benchmark run, targets included."""

import argparse
import os
import platform
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

READ_TARGET = 0.5  # read: at least half the bare endpoint's requests/s
TRANSACTION_TARGET_MS = 100.0  # 50-entry transaction: p50 under 100 ms on SQLite


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
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src"],
                           capture_output=True, text=True).stdout.strip()
    return f"{head} (with uncommitted changes in src/)" if dirty else head


AUTH = {
    "open": "the app switched to open mode after it is built, so the real `auth_context` "
            "dependency runs as under `make run`",
    "override": "`app.dependency_overrides[auth_context]`, as the tests do (FastAPI then "
                "re-inspects every dependency on every request, which production does not)",
}


def _scenario(backend: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in backend["scenarios"] if s["name"] == name)


def _table(backend: dict[str, Any]) -> list[str]:
    rows = ["| scenario | clients | medsvc req/s | bare req/s | medsvc/bare | medsvc p50 ms | "
            "medsvc p99 ms | bare p50 ms | bare p99 ms | medsvc CPU | wrk CPU |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in backend["scenarios"]:
        m, b = s["medsvc"], s["bare"]
        rows.append(f"| {s['label']} | {s['clients']} | {m['rps']:,.0f} | {b['rps']:,.0f} | "
                    f"{m['rps'] / b['rps']:.1%} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | "
                    f"{b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {m['server_cpu']:.0%} | "
                    f"{m['wrk_cpu']:.0%} |")
    return rows


def _runs(backend: dict[str, Any]) -> list[str]:
    rows = ["| scenario | app | s per run | req/s per run | errors |",
            "| --- | --- | ---: | --- | ---: |"]
    for s in backend["scenarios"]:
        for app, samples in s["runs"].items():
            rates = ", ".join(f"{x['rps']:,.0f}" for x in samples)
            rows.append(f"| {s['name']} | {app} | {samples[0]['seconds']:.0f} | {rates} | "
                        f"{sum(x['errors'] for x in samples):.0f} |")
    return rows


def _targets(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for backend in results:
        read = _scenario(backend, "read")
        ratio = read["medsvc"]["rps"] / read["bare"]["rps"]
        verdict = "**met**" if ratio >= READ_TARGET else "**not met**"
        lines.append(f"- Read at least {READ_TARGET:.0%} of the bare endpoint's requests/s, "
                     f"{backend['backend']}: {ratio:.1%}: {verdict}.")
    for backend in (b for b in results if b["backend"] == "sqlite"):
        p50 = _scenario(backend, "transaction")["medsvc"]["p50_ms"]
        alone = _scenario(backend, "transaction-1")["medsvc"]["p50_ms"]
        verdict = "**met**" if p50 < TRANSACTION_TARGET_MS else "**not met**"
        lines.append(f"- 50-entry transaction under {TRANSACTION_TARGET_MS:.0f} ms p50 on SQLite "
                     f"(16 clients): {p50:.0f} ms: {verdict}. With one client, so without "
                     f"queueing behind the single writer, p50 is {alone:.0f} ms "
                     f"({'under' if alone < TRANSACTION_TARGET_MS else 'over'} the target).")
    return lines


def code_state(started_at: str) -> str:
    """The commit measured; says so when the code changed while the run went on."""
    ended_at = commit()
    if ended_at == started_at:
        return started_at
    return f"{started_at} (the code changed during the run: {ended_at} at its end)"


def _reading(results: list[dict[str, Any]]) -> list[str]:
    """What the CPU column and the two transaction rows say, per backend."""
    lines = []
    for b in results:
        busy = [s["name"] for s in b["scenarios"] if s["medsvc"]["server_cpu"] >= 0.9]
        idle = [f"{s['name']} ({s['medsvc']['server_cpu']:.0%})" for s in b["scenarios"]
                if s["medsvc"]["server_cpu"] < 0.5]
        many, one = _scenario(b, "transaction")["medsvc"], _scenario(b, "transaction-1")["medsvc"]
        lines.append(
            f"- {b['backend']}: the medsvc process runs at 90% of a core or more in "
            f"{', '.join(busy) or 'no scenario'}, so there it is bound by its own CPU (one "
            "worker, one GIL), not by the database"
            + (f"; it waits on the database in {', '.join(idle)}" if idle else "") + ". "
            f"16 concurrent transactions complete {many['rps']:.1f}/s at p50 "
            f"{many['p50_ms']:.0f} ms, against {one['rps']:.1f}/s at p50 {one['p50_ms']:.0f} ms "
            "for one client: concurrency adds queueing"
            + (" and costs throughput." if many["rps"] < 0.9 * one["rps"] else ", not throughput."))
    return lines


def render(results: list[dict[str, Any]], args: argparse.Namespace, elapsed: float,
           code: str, when: str) -> str:
    out = [
        "# Benchmarks",
        "",
        "Written by `bench/http_bench.py` (`make bench`); do not edit by hand. Generated "
        f"{when} at commit {code}; the whole run took "
        f"{elapsed / 60:.1f} minutes.",
        "",
        "## What is measured",
        "",
        "Four FHIR interactions over HTTP, each beside a **bare FastAPI endpoint** that answers "
        "the same request with the same response bytes (captured from medsvc just before the "
        "runs), so the ratio is what medsvc adds on top of uvicorn + FastAPI itself:",
        "",
        "- **create**: `POST /fhir/Patient`, a small Patient (201, body returned).",
        "- **read**: `GET /fhir/Patient/{id}` of one Patient.",
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
        f"{AUTH[args.auth]} (`bench/medsvc_launcher.py`, `--auth`). The bare app is "
        "`bench/bare_app.py` (`async def` endpoints returning canned bytes; POST bodies are "
        "read in full).",
        "- Slots are seeded in-process through the FHIR layer (`bundle.run_transaction`, "
        "1,000 Slots per transaction), so they are validated and indexed as over HTTP. On "
        "PostgreSQL the seeding ends with `VACUUM ANALYZE`, as autovacuum would soon do on a "
        "live server (and would otherwise do in the middle of the runs); SQLite has no such "
        "background step and gets none.",
        f"- Load generator: **{_wrk_version()}**, 1 thread, 16 keep-alive connections "
        f"(closed loop: each connection sends its next request when the last is answered), "
        f"`bench/wrk.lua`. Each scenario and app: one 3 s warm-up, then {args.runs} run(s) "
        f"of {args.duration:g} s, medsvc and bare interleaved; the tables show the median of "
        "the runs for each figure. A run lasts at least ten warm-up p50 latencies (up to "
        "60 s): each run starts all connections at once, and a server that interleaves slow "
        "requests finishes its first ones only after about one latency.",
        "- `medsvc CPU` is the uvicorn process's CPU time over wall time (100% = one core "
        "saturated); `wrk CPU` the same for the load generator during the medsvc runs.",
        "",
        "## Machine",
        "",
        f"- {len(os.sched_getaffinity(0))} cores (`nproc`), {_cpu_model()}, {_memory()} RAM, Linux "
        f"{platform.release()}",
        f"- Python {platform.python_version()}, uvicorn {version('uvicorn')}, "
        f"FastAPI {version('fastapi')}, SQLAlchemy {version('sqlalchemy')}, "
        f"psycopg {version('psycopg')}",
        *[f"- {b['backend']}: {b['version']}; seeding {b['slots']:,} Slots took "
          f"{b['seed_seconds']:.0f} s" for b in results],
        "",
        "Everything shares the two cores: server, load generator and, for PostgreSQL, the "
        "database server. wrk is written in C and uses a small share of a core, far less than "
        "a Python generator would, but the absolute numbers are still those of a small shared "
        "machine. The ratios against the bare endpoint, measured the same way in the same run, "
        "are what carry over.",
        "",
    ]
    for backend in results:
        out += [f"## Results: {backend['backend']}", "", *_table(backend), ""]
    out += ["## Reading the numbers", "", *_reading(results), ""]
    out += ["## Targets", "", *_targets(results), ""]
    out += ["## Raw runs", ""]
    for backend in results:
        out += [f"{backend['backend']}:", "", *_runs(backend), ""]
    out += ["## Reproducing", "",
            "```sh",
            "make bench                                   # both backends, full size",
            ".venv/bin/python bench/http_bench.py --quick  # smoke test, prints the page",
            ".venv/bin/python bench/http_bench.py --backend sqlite --runs 5 --duration 10",
            "```", "",
            "Needs `wrk` (`apt-get install -y wrk`) and, for PostgreSQL, a server at "
            "127.0.0.1:5432 (user `postgres`, trust; `MEDSVC_BENCH_POSTGRES_URL` points "
            "elsewhere). Raw samples of the last run are kept in `bench/results/latest.json`.",
            ""]
    return "\n".join(out)
