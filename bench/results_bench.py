"""The results benchmark (results at rest): a lab's ingest and a citizen's result fetch, sealed
beside unsealed in the same run; the results go into the marked section of docs/benchmarks.md.

Per backend (SQLite, PostgreSQL): two medsvc processes, each in its own uvicorn process on
its own fresh database with its own key directory. One seals the results as in service; the
other runs with MEDSVC_UNSEALED_RESULTS_FOR_BENCHMARKS=true, which stores them unsealed and
indexes them the same way. Both are seeded alike over HTTP (Patients; a patient with a few
reports for the fetch), then:

- Ingest: wrk (booking.lua) posts lab pushes, a DiagnosticReport with 20 Observations each,
  every request with identifiers of its own (21 resources created), a counted number per run.
- Fetch: wrk (wrk.lua) sends one citizen's result fetch (their reports with the Observations
  included), from 8 clients and from 1, and a read of one Observation.

Each run, the two processes take turns on every scenario (which goes first alternates); a
pair is measured only while the machine is otherwise quiet, and again if it was not
(results_quiet.py). The section shows medians of the runs and the cost of sealing (sealed
time / unsealed time - 1).
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import booking_bench
import httpx
import pinned_run
import results_bundles as bundles
import results_report
from measure import Scenario, run_wrk
from results_quiet import Quiet
from servers import BENCH_DIR, Server, free_port, postgres_version, vacuum_analyze

from medsvc import migrate

ROOT = BENCH_DIR.parent
MODES = ("sealed", "unsealed")
RESULT_TYPES = ("DiagnosticReport", "Observation")
MIN_BUNDLES = 40  # counted pushes per ingest run, however slow
FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


def _server_env(mode: str, url: str, port: int, keys: Path) -> dict[str, str]:
    return {
        **booking_bench.medsvc_env(url, port),
        "MEDSVC_KEYS_DIR": str(keys),
        "MEDSVC_KEK_DIR": str(keys / "kek"),
        "MEDSVC_UNSEALED_RESULTS_FOR_BENCHMARKS": "true" if mode == "unsealed" else "false",
    }


def _turns(n: int) -> tuple[str, ...]:
    """The order of the two processes in run n: sealed first in even runs."""
    return MODES if n % 2 == 0 else MODES[::-1]


# --- seeding and checks ---------------------------------------------------------------------


def _send_push(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """One push; anything but 200 with 21 resources created stops the run."""
    response = client.post("/fhir", content=json.dumps(body), headers=FHIR_JSON)
    if response.status_code != 200:
        raise RuntimeError(f"a lab push was refused: {response.status_code} {response.text[:2000]}")
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    if statuses != ["201 Created"] * len(body["entry"]):
        raise RuntimeError(f"a lab push did not create {len(body['entry'])} resources: {statuses}")
    return response.json()


def _created_id(entry: dict[str, Any]) -> str:
    return str(entry["response"]["location"].split("/")[-3])  # .../Type/id/_history/1


def seed(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Patients for the pushes and one more, the citizen, with args.reports reports (a day
    apart) of 20 Observations each; returns the citizen's ids and the first push's answer."""
    with httpx.Client(base_url=server.url, timeout=120) as client:
        created = client.post(
            "/fhir",
            headers=FHIR_JSON,
            content=json.dumps(bundles.patients_transaction(args.patients + 1)),
        )
        if created.status_code != 200:
            raise RuntimeError(f"Patients: {created.status_code} {created.text[:1000]}")
        citizen = _created_id(created.json()["entry"][-1])
        first = None
        for n in range(args.reports):
            answer = _send_push(
                client,
                bundles.push(
                    bundles.national_id(args.patients),
                    f"citizen-{n}",
                    bundles.FIRST_TAKEN - timedelta(days=30 * (n + 1)),
                ),
            )
            first = first or answer
    assert first is not None
    observation = _created_id(first["entry"][0])
    return {"citizen": citizen, "observation": observation}


def check_fetch(servers: dict[str, Server], paths: dict[str, str], reports: int) -> dict[str, Any]:
    """The fetch answers alike on both processes: the citizen's reports, newest first, with
    their Observations; the same values."""
    found = {}
    for mode, server in servers.items():
        response = httpx.get(server.url + paths[mode], headers=FHIR_JSON, timeout=120)
        if response.status_code != 200:
            raise RuntimeError(f"fetch, {mode}: {response.status_code} {response.text[:1000]}")
        entries = response.json().get("entry", [])
        matches = [e["resource"] for e in entries if e["search"]["mode"] == "match"]
        included = [e["resource"] for e in entries if e["search"]["mode"] == "include"]
        dates = [r["effectiveDateTime"] for r in matches]
        values = sorted(
            (r["code"]["coding"][0]["code"], r["valueQuantity"]["value"]) for r in included
        )
        found[mode] = {
            "matches": len(matches),
            "included": len(included),
            "values": values,
            "bytes": len(response.content),
            "newest_first": dates == sorted(dates, reverse=True),
        }
        if (len(matches), len(included)) != (reports, reports * len(bundles.TESTS)):
            raise RuntimeError(
                f"fetch, {mode}: {len(matches)} reports and {len(included)} "
                f"Observations, expected {reports} and {reports * 20}"
            )
        if not found[mode]["newest_first"]:
            raise RuntimeError(f"fetch, {mode}: reports not newest first: {dates}")
    if found["sealed"]["values"] != found["unsealed"]["values"]:
        raise RuntimeError("fetch: the sealed and unsealed processes answer different values")
    return {
        "matches": reports,
        "included": found["sealed"]["included"],
        "bytes": {mode: f["bytes"] for mode, f in found.items()},
    }


def _first_byte_is(url: str, byte: int) -> str:
    types = ", ".join(f"'{t}'" for t in RESULT_TYPES)
    first = (
        f"substr(content, 1, 1) = X'{byte:02x}'"
        if url.startswith("sqlite")
        else f"get_byte(content, 0) = {byte}"
    )
    return f"SELECT count(*) FROM resource_version WHERE resource_type IN ({types}) AND {first}"


def stored_checks(url: str) -> dict[str, int]:
    """What the database holds: results, their versions sealed (first byte 0x01) or JSON
    ('{'), the highest version of a result (1: every push created), and data keys."""
    types = ", ".join(f"'{t}'" for t in RESULT_TYPES)
    checks = {
        "reports": "SELECT count(*) FROM resource WHERE resource_type = 'DiagnosticReport' "
        "AND NOT deleted",
        "observations": "SELECT count(*) FROM resource WHERE resource_type = 'Observation' "
        "AND NOT deleted",
        "versions": f"SELECT count(*) FROM resource_version WHERE resource_type IN ({types})",
        "sealed_versions": _first_byte_is(url, 1),
        "json_versions": _first_byte_is(url, ord("{")),
        "highest_version": f"SELECT coalesce(max(version_id), 0) FROM resource WHERE "
        f"resource_type IN ({types})",
        "data_keys": "SELECT count(*) FROM patient_key",
    }
    return booking_bench.run_checks(url, checks)


def wrong_in_store(mode: str, found: dict[str, int]) -> list[str]:
    wrong = []
    if found["observations"] != 20 * found["reports"]:
        wrong.append(f"{found['observations']} Observations for {found['reports']} reports")
    if found["highest_version"] != 1:
        wrong.append(f"a result has version {found['highest_version']}: a push updated one")
    if found["versions"] != found["reports"] + found["observations"]:
        wrong.append(
            f"{found['versions']} versions of {found['reports'] + found['observations']} results"
        )
    expected = "sealed_versions" if mode == "sealed" else "json_versions"
    if found[expected] != found["versions"]:
        wrong.append(f"{found[expected]} of {found['versions']} versions are {expected[:-9]}")
    return wrong


# --- ingest ---------------------------------------------------------------------------------


def _ingest_once(
    server: Server, url: str, lines: Path, clients: int, count: int, quiet: Quiet
) -> dict[str, Any]:
    sample = quiet.measure(booking_bench._wrk, server, lines, clients, count)
    if sample["ok"] != sample["responses"] or sample["socket_errors"] or sample["exhausted"]:
        raise RuntimeError(f"ingest, {server.name}: not every push succeeded: {sample}")
    counted = booking_bench.Counter(url, "SELECT count(*) FROM resource")
    booking_bench.settle(counted)  # the pushes in flight at the stop are written first
    sample["cpu_ms"] = sample["server_cpu"] / sample["rps"] * 1000
    return sample


def ingest(
    servers: dict[str, Server],
    urls: dict[str, str],
    scratch: Path,
    args: argparse.Namespace,
    quiet: Quiet,
) -> dict[str, Any]:
    clients = args.clients
    warm = max(args.patients, MIN_BUNDLES)  # every patient's data key is made in the warm-up
    attempt = iter(range(1_000_000))  # a pair measured again takes fresh identifiers

    def ingest_pair(n: int, count: int) -> dict[str, dict[str, Any]]:
        lines = bundles.push_lines(
            scratch / "ingest.txt", f"run{n}-{next(attempt)}", count + clients, args.patients
        )
        return {
            mode: _ingest_once(servers[mode], urls[mode], lines, clients, count, quiet)
            for mode in _turns(n)
        }

    warmup = quiet.pair(lambda: ingest_pair(0, warm))  # not recorded
    rates = [warmup[mode]["rps"] for mode in MODES]
    count = max(MIN_BUNDLES, round(min(rates) * args.ingest_seconds))
    print(
        f"  ingest: warm-up {rates[0]:.1f} / {rates[1]:.1f} Bundles/s (sealed / unsealed); "
        f"{count} counted per run",
        flush=True,
    )
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for n in range(args.runs):
        pair = quiet.pair(lambda n=n: ingest_pair(n, count))
        for mode, sample in pair.items():
            runs[mode].append(sample)
            _print(n, "ingest", mode, sample, "Bundles/s")
    return {
        "name": "ingest",
        "clients": clients,
        "count": count,
        "warmup": dict(zip(MODES, rates, strict=True)),
        **_summary(runs),
    }


# --- fetch ----------------------------------------------------------------------------------


def fetch(
    servers: dict[str, Server],
    paths: dict[str, dict[str, str]],
    args: argparse.Namespace,
    quiet: Quiet,
) -> list[dict[str, Any]]:
    shapes = [
        ("fetch", "fetch", args.clients),
        ("fetch-1", "fetch", 1),
        ("read", "read", args.clients),
    ]
    scenarios = {
        (name, mode): Scenario(name, name, "GET", paths[kind][mode], clients=clients)
        for name, kind, clients in shapes
        for mode in MODES
    }
    quiet.wait()
    for (_name, mode), scenario in scenarios.items():  # warm-up, not recorded
        run_wrk(servers[mode], scenario, min(2, args.seconds))
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        s[0]: {m: [] for m in MODES} for s in shapes
    }

    def once(name: str, mode: str) -> dict[str, Any]:
        sample = quiet.measure(run_wrk, servers[mode], scenarios[(name, mode)], args.seconds)
        if sample["errors"]:
            raise RuntimeError(f"{name}, {mode}: {sample['errors']:.0f} errors")
        sample["cpu_ms"] = sample["server_cpu"] / sample["rps"] * 1000
        return sample

    for n in range(args.runs):
        for name, _kind, _clients in shapes:
            pair = quiet.pair(lambda n=n, name=name: {m: once(name, m) for m in _turns(n)})
            for mode, sample in pair.items():
                runs[name][mode].append(sample)
                _print(n, name, mode, sample, "req/s")
    return [
        {"name": name, "clients": clients, **_summary(runs[name])}
        for name, _kind, clients in shapes
    ]


# --- figures --------------------------------------------------------------------------------

KEYS = ("rps", "p50_ms", "p99_ms", "server_cpu", "cpu_ms", "foreign_cpu")


def _summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per mode, and the cost of sealing: of the medians, and run by run (the two
    processes measured back to back)."""
    medians = {
        mode: {k: statistics.median(float(s[k]) for s in runs[mode]) for k in KEYS}
        for mode in MODES
    }
    paired = [
        {
            "time": u["rps"] / s["rps"] - 1,
            "p50": s["p50_ms"] / u["p50_ms"] - 1,
            "p99": s["p99_ms"] / u["p99_ms"] - 1,
            "cpu": s["cpu_ms"] / u["cpu_ms"] - 1,
        }
        for s, u in zip(runs["sealed"], runs["unsealed"], strict=True)
    ]
    sealed, unsealed = medians["sealed"], medians["unsealed"]
    cost = {
        "time": unsealed["rps"] / sealed["rps"] - 1,
        "p50": sealed["p50_ms"] / unsealed["p50_ms"] - 1,
        "p99": sealed["p99_ms"] / unsealed["p99_ms"] - 1,
        "cpu": sealed["cpu_ms"] / unsealed["cpu_ms"] - 1,
    }
    return {**medians, "cost": cost, "paired": paired, "runs": runs}


def _print(n: int, name: str, mode: str, s: dict[str, Any], unit: str) -> None:
    print(
        f"  run {n + 1} {name:<8} {mode:<9} {s['rps']:8.1f} {unit:<9} p50 {s['p50_ms']:7.2f} "
        f"p99 {s['p99_ms']:7.2f} ms  CPU {s['server_cpu']:4.0%} "
        f"({s['cpu_ms']:.2f} ms a request), other load {s['foreign_cpu']:.2f} cores",
        flush=True,
    )


# --- the run --------------------------------------------------------------------------------


def backend_run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()[0]
    print(f"{backend}: load average {load:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="medsvc-results-") as tmp, ExitStack() as stack:
        scratch = Path(tmp)
        urls, servers = {}, {}
        for mode in MODES:
            url = urls[mode] = stack.enter_context(
                booking_bench.scratch_database(backend, scratch, mode)
            )
            migrate.upgrade(url)
            port = free_port()
            servers[mode] = stack.enter_context(
                Server(
                    f"medsvc-{mode}",
                    "medsvc_launcher:create",
                    _server_env(mode, url, port, scratch / f"keys-{mode}"),
                    1,
                    scratch,
                    port,
                    cpus=args.server_cpus,
                )
            )
        began = time.monotonic()
        seeded = {mode: seed(servers[mode], args) for mode in MODES}
        if backend == "postgresql":
            for url in urls.values():
                vacuum_analyze(url)
        print(
            f"  seeded {args.patients + 1} Patients and {args.reports} reports in "
            f"{time.monotonic() - began:.1f} s",
            flush=True,
        )
        paths = {
            "fetch": {
                m: f"/fhir/DiagnosticReport?patient=Patient/{seeded[m]['citizen']}"
                "&_include=DiagnosticReport:result&_sort=-date"
                for m in MODES
            },
            "read": {m: f"/fhir/Observation/{seeded[m]['observation']}" for m in MODES},
        }
        answer = check_fetch(servers, paths["fetch"], args.reports)
        for mode in MODES:
            wrong = wrong_in_store(mode, stored_checks(urls[mode]))
            if wrong:
                raise RuntimeError(f"{mode} after seeding: {wrong}")
        print(
            f"  fetch answers {answer['matches']} reports and {answer['included']} "
            f"Observations alike on both ({answer['bytes']['sealed']:,} bytes)",
            flush=True,
        )
        result: dict[str, Any] = {
            "backend": backend,
            "load_before": load,
            "fetch_answer": answer,
            "paths": {k: v["sealed"] for k, v in paths.items()},
        }
        databases = tuple(url.rsplit("/", 1)[1] for url in urls.values() if "postgresql" in url)
        quiet = Quiet(args.max_wait, databases)
        result["scenarios"] = [
            ingest(servers, urls, scratch, args, quiet),
            *fetch(servers, paths, args, quiet),
        ]
        result["quiet"] = quiet.facts()
        result["stored"] = {mode: stored_checks(urls[mode]) for mode in MODES}
        for mode in MODES:
            wrong = wrong_in_store(mode, result["stored"][mode])
            if wrong:
                raise RuntimeError(f"{mode} after the runs: {wrong}")
        result["version"] = (
            postgres_version(urls["sealed"]) if backend == "postgresql" else sqlite3.sqlite_version
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs; medians are kept")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per fetch run")
    parser.add_argument(
        "--ingest-seconds",
        type=float,
        default=8,
        help="about how long an ingest run lasts (its count of pushes is set "
        "from the warm-up's rate)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=1800,
        help="seconds in all a backend's runs may wait for the machine to be "
        "quiet (other load under 0.3 cores) before measuring anyway",
    )
    parser.add_argument("--patients", type=int, default=50, help="patients the pushes are for")
    parser.add_argument("--reports", type=int, default=3, help="reports of the fetched patient")
    pinned_run.add_run_arguments(parser)
    args = parser.parse_args()
    output = args.output or ROOT / "docs" / "benchmarks.md"
    if args.render:
        results_report.write_section(
            output, results_report.render(json.loads(args.render.read_text()))
        )
        print(f"wrote the results section of {output}")
        return 0
    if args.quick:
        args.runs, args.seconds, args.ingest_seconds = 1, 2, 2
    if shutil.which("wrk") is None:
        print("bench: needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 2
    return pinned_run.run_and_report(
        args, "results", backend_run, results_report.render, results_report.write_section, output
    )


if __name__ == "__main__":
    sys.exit(main())
