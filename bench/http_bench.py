"""The HTTP benchmark run: medsvc beside two bare FastAPI apps, into docs/benchmarks.md."""

# For each backend: a fresh database seeded with Slots; medsvc, the bare async app and the
# bare sync app each in its own uvicorn process; wrk drives every scenario against all three,
# interleaved, over several runs (measure.py); the medians go into the page (report.py).

import argparse
import base64
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import report
import seed
from measure import Scenario, measure
from servers import (
    BENCH_DIR,
    Server,
    free_port,
    postgres_database,
    postgres_version,
    vacuum_analyze,
)

from medsvc.config import Settings
from medsvc.kit import migrate

ROOT = BENCH_DIR.parent
SKIPPED_HEADERS = {"date", "server", "content-length", "x-request-id"}  # per connection/request


@contextmanager
def database_url(backend: str, scratch: Path) -> Iterator[str]:
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{scratch / 'medsvc.db'}"


def capture(medsvc: Server, scenarios: list[Scenario], scratch: Path) -> Path:
    """Sends each request once, checks medsvc's answer, and saves it for the bare apps."""
    captured = {}
    with httpx.Client(
        base_url=medsvc.url, headers={"Accept": "application/fhir+json"}, timeout=60
    ) as client:
        for s in scenarios:
            content = s.body.read_bytes() if s.body else None
            headers = {"Content-Type": "application/fhir+json"} if content else {}
            response = client.request(s.method, s.path, content=content, headers=headers)
            if response.status_code >= 300:
                raise RuntimeError(f"{s.name}: {response.status_code} {response.text[:500]}")
            captured[s.name] = {
                "status": response.status_code,
                "body": base64.b64encode(response.content).decode(),
                "headers": {
                    k: v for k, v in response.headers.items() if k.lower() not in SKIPPED_HEADERS
                },
            }
            if s.name == "create":  # the Patient just created is the one the reads read
                for read in (r for r in scenarios if r.name.startswith("read")):
                    read.path = f"/fhir/Patient/{response.json()['id']}"
            if s.name == "search":
                found = len(response.json().get("entry", []))
                print(f"  search window returns {found} slots, {len(response.content)} bytes")
    path = scratch / "responses.json"
    path.write_text(json.dumps(captured))
    return path


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, object]:
    print(f"{backend}:")
    with (
        tempfile.TemporaryDirectory(prefix="medsvc-bench-") as tmp,
        database_url(backend, Path(tmp)) as url,
    ):
        scratch = Path(tmp)
        migrate.upgrade(url)
        port = free_port()
        env = {
            "MEDSVC_DATABASE_URL": url,
            "MEDSVC_BASE_URL": f"http://127.0.0.1:{port}/fhir",
            "MEDSVC_AUTH_MODE": "smart",
            "BENCH_AUTH": args.auth,
        }  # see medsvc_launcher
        started = time.monotonic()
        ids = seed.seed(
            Settings(database_url=url, auth_mode="smart", log_level="WARNING"), args.slots
        )
        if backend == "postgresql":  # what autovacuum does on a live server, done now
            vacuum_analyze(url)
        seed_seconds = time.monotonic() - started
        print(f"  seeded {args.slots} slots in {seed_seconds:.0f} s")
        (scratch / "patient.json").write_bytes(seed.patient_body())
        (scratch / "transaction.json").write_bytes(seed.transaction_body())
        query = seed.search_query(ids[len(ids) // 2], seed.days_for(args.slots) // 2)
        scenarios = [
            Scenario(
                "create",
                "create: POST /fhir/Patient",
                "POST",
                "/fhir/Patient",
                scratch / "patient.json",
            ),
            Scenario("read", "read: GET /fhir/Patient/{id}", "GET", ""),
            Scenario(
                "read-audited",
                "read, audited: GET /fhir/Patient/{id}",
                "GET",
                "",
                app="medsvc_audited",
            ),
            Scenario(
                "search", "search: GET /fhir/Slot?schedule&start (1 day)", "GET", f"/fhir/{query}"
            ),
            Scenario(
                "transaction",
                "transaction: POST /fhir, 50 entries",
                "POST",
                "/fhir",
                scratch / "transaction.json",
            ),
            Scenario(
                "transaction-1",
                "transaction, 1 client",
                "POST",
                "/fhir",
                scratch / "transaction.json",
                clients=1,
            ),
        ]
        audited_port = free_port()  # sign-in mode, callers let in by the override: audited
        audited_env = {
            **env,
            "BENCH_AUTH": "override",
            "MEDSVC_BASE_URL": f"http://127.0.0.1:{audited_port}/fhir",
        }
        with (
            Server("medsvc", "medsvc_launcher:create", env, args.workers, scratch, port) as medsvc,
            Server(
                "medsvc-audited",
                "medsvc_launcher:create",
                audited_env,
                args.workers,
                scratch,
                audited_port,
            ) as audited,
        ):
            canned = {"BENCH_RESPONSES": str(capture(medsvc, scenarios, scratch))}
            with (
                Server("bare-async", "bare_app:create", canned, args.workers, scratch) as bare,
                Server(
                    "bare-sync", "bare_app:create_sync", canned, args.workers, scratch
                ) as bare_sync,
            ):
                targets = {
                    "medsvc": medsvc,
                    "medsvc_audited": audited,
                    "bare_async": bare,
                    "bare_sync": bare_sync,
                }
                results = measure(targets, scenarios, args)
        version = postgres_version(url) if backend == "postgresql" else sqlite3.sqlite_version
    return {
        "backend": backend,
        "version": version,
        "slots": args.slots,
        "seed_seconds": seed_seconds,
        "query": query,
        "scenarios": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured run")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario; medians are kept")
    parser.add_argument("--slots", type=int, default=100_000, help="Slots seeded for search")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, both apps")
    parser.add_argument(
        "--auth",
        choices=("open", "override"),
        default="open",
        help="how the launcher skips sign-in (see bench/medsvc_launcher.py)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: 2,000 slots, 1 run of 2 s; prints the page",
    )
    parser.add_argument(
        "--output", type=Path, help="results page (default docs/benchmarks.md; none with --quick)"
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="only rewrite the page from a saved run (bench/results/latest.json)",
    )
    args = parser.parse_args()
    if args.render:  # page wording changes need no new run
        saved = json.loads(args.render.read_text())
        output = args.output or ROOT / "docs" / "benchmarks.md"
        page = report.render(
            saved["results"],
            argparse.Namespace(**saved["args"]),
            saved["elapsed"],
            saved["code"],
            saved["when"],
        )
        output.write_text(page)
        print(f"wrote {output}")
        return 0
    if args.quick:
        args.slots, args.runs, args.duration = min(args.slots, 2000), 1, 2
    output = args.output or (None if args.quick else ROOT / "docs" / "benchmarks.md")
    if shutil.which("wrk") is None:
        print("bench: needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 2
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started, commit = time.monotonic(), report.commit()
    results = [bench_backend(b, args) for b in backends]
    saved = {
        "args": {k: v for k, v in vars(args).items() if not isinstance(v, Path)},
        "elapsed": time.monotonic() - started,
        "code": report.code_state(commit),
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
        "results": results,
    }
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    name = "quick.json" if args.quick else "latest.json"  # a smoke test keeps the real run
    (BENCH_DIR / "results" / name).write_text(json.dumps(saved, indent=1))
    page = report.render(results, args, saved["elapsed"], saved["code"], saved["when"])
    if output is None:
        print(page)
    else:
        output.write_text(page)
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
