"""The results benchmark (results at rest): a lab's ingest and a citizen's result fetch, sealed
beside unsealed in the same run; the results go into the marked section of docs/benchmarks.md.

Per backend (SQLite, PostgreSQL): two databases, each with its own key directory, served by
a medsvc process each (uvicorn). One seals the results as in service; the other runs with
MEDSVC_UNSEALED_RESULTS_FOR_BENCHMARKS=true, which stores them unsealed and indexes them the
same way. Both are seeded alike over HTTP in open mode (Patients, the lab's Organization, a
patient with a few reports for the fetch). Every measured run then starts both processes
afresh in sign-in mode, and every request carries an access token signed with the process's
own key (tokens.py):

- Ingest: wrk (booking.lua) posts lab pushes as the lab's hospital system, a DiagnosticReport
  with 20 Observations each, every request with identifiers of its own (21 resources
  created), a counted number per run.
- Fetch: wrk (wrk.lua) sends the citizen's result fetch as the citizen (their reports with
  the Observations included), from 8 clients and from 1, and a read of one Observation.

Each run, the two processes take turns on every scenario (which goes first alternates); each
sample waits for both processes to be idle, and a pair is measured only while the machine is
otherwise quiet, and again if it was not (results_quiet.py). The section shows medians of the
runs and the cost of sealing (sealed time / unsealed time - 1), judged on the median run's.
"""

import argparse
import itertools
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import booking_bench
import httpx
import pinned_run
import results_bundles as bundles
import results_report
import tokens
from measure import Scenario, run_wrk
from results_quiet import Quiet
from servers import (
    BENCH_DIR,
    Server,
    free_port,
    pin_database_backends,
    postgres_version,
    vacuum_analyze,
    wait_until_idle,
)

from medsvc.kit import migrate

ROOT = BENCH_DIR.parent
MODES = ("sealed", "unsealed")
RESULT_TYPES = ("DiagnosticReport", "Observation")
MIN_BUNDLES = 40  # counted pushes per ingest run, however slow
FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
LAB = {"resourceType": "Organization", "name": "City lab (benchmark)"}


def _server_env(mode: str, url: str, port: int, keys: Path, auth: str) -> dict[str, str]:
    return {
        **booking_bench.medsvc_env(url, port),
        "BENCH_AUTH": auth,
        "MEDSVC_KEYS_DIR": str(keys),
        "MEDSVC_KEK_DIR": str(keys / "kek"),
        "MEDSVC_UNSEALED_RESULTS_FOR_BENCHMARKS": "true" if mode == "unsealed" else "false",
        # The periodic jobs of the process not being measured would share its CPU with the
        # one that is; as where `medsvc worker` runs them, neither process runs them.
        "MEDSVC_JOBS": "off",
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
    apart) of 20 Observations each, and the lab's Organization; returns the citizen's ids,
    an Observation of theirs and the lab's id."""
    with httpx.Client(base_url=server.url, timeout=120) as client:
        lab = client.post("/fhir/Organization", headers=FHIR_JSON, content=json.dumps(LAB))
        if lab.status_code != 201:
            raise RuntimeError(f"the lab's Organization: {lab.status_code} {lab.text[:1000]}")
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
    return {"citizen": citizen, "observation": observation, "lab": lab.json()["id"]}


def check_fetch(
    servers: dict[str, Server],
    paths: dict[str, str],
    reports: int,
    authorization: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The fetch answers alike on both processes: the citizen's reports, newest first, with
    their Observations; the same values. With authorization, as the citizen signed in."""
    found = {}
    for mode, server in servers.items():
        signed = {"Authorization": authorization[mode]} if authorization else {}
        response = httpx.get(server.url + paths[mode], headers={**FHIR_JSON, **signed}, timeout=120)
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


# --- one run: fresh processes, warmed up, measured in pairs -------------------------------


@dataclass
class Setup:
    """What the runs on one backend share: its two databases, the scratch directory, the
    arguments, the quiet gate, and how many database backends each run pinned."""

    urls: dict[str, str]
    scratch: Path
    args: argparse.Namespace
    quiet: Quiet
    databases: tuple[str, ...]
    pushes: Iterator[int] = field(default_factory=itertools.count)
    pinned: list[int] = field(default_factory=list)
    seeded: dict[str, dict[str, str]] = field(default_factory=dict)  # ids by process
    paths: dict[str, dict[str, str]] = field(default_factory=dict)  # fetch and read, by process
    idle: list[float] = field(default_factory=list)  # seconds waited for idle processes

    def push_lines(self, tag: str, count: int) -> Path:
        """count pushes (and one per client more, in flight at the stop), with identifiers
        of their own: a pair measured again takes fresh ones."""
        return bundles.push_lines(
            self.scratch / "ingest.txt",
            f"{tag}-{next(self.pushes)}",
            count + self.args.clients,
            self.args.patients,
        )


@contextmanager
def serving(setup: Setup, auth: str) -> Iterator[dict[str, Server]]:
    """A sealed and an unsealed process, started afresh: each run has processes of its own,
    so that what one process happens to be (its memory layout, its hash seed) is not in
    every run's figure. auth: BENCH_AUTH (medsvc_launcher.py)."""
    with ExitStack() as stack:
        servers = {}
        for mode in MODES:
            port = free_port()
            env = _server_env(mode, setup.urls[mode], port, _keys(setup, mode), auth)
            servers[mode] = stack.enter_context(
                Server(
                    f"medsvc-{mode}",
                    "medsvc_launcher:create",
                    env,
                    1,
                    setup.scratch,
                    port,
                    cpus=setup.args.server_cpus,
                )
            )
        yield servers


def _keys(setup: Setup, mode: str) -> Path:
    return setup.scratch / f"keys-{mode}"


def signed_in(setup: Setup, servers: dict[str, Server]) -> dict[str, dict[str, str]]:
    """Each process's Authorization headers: the citizen's, and the lab's hospital system's."""
    found = {}
    for mode, server in servers.items():
        keys, base, ids = _keys(setup, mode), server.env["MEDSVC_BASE_URL"], setup.seeded[mode]
        found[mode] = {
            "citizen": tokens.citizen(keys, base, ids["citizen"]),
            "lab": tokens.hospital_system(keys, base, ids["lab"]),
        }
    return found


def _ingest_once(
    server: Server,
    url: str,
    lines: Path,
    clients: int,
    count: int,
    quiet: Quiet,
    authorization: str = "",
) -> dict[str, Any]:
    sample = quiet.measure(
        booking_bench._wrk, server, lines, clients, count, 0, False, authorization
    )
    if sample["ok"] != sample["responses"] or sample["socket_errors"] or sample["exhausted"]:
        raise RuntimeError(f"ingest, {server.name}: not every push succeeded: {sample}")
    counted = booking_bench.Counter(url, "SELECT count(*) FROM resource")
    booking_bench.settle(counted)  # the pushes in flight at the stop are written first
    sample["cpu_ms"] = sample["server_cpu"] / sample["rps"] * 1000
    return sample


def ingest_pair(
    setup: Setup,
    servers: dict[str, Server],
    n: int,
    count: int,
    signed: dict[str, dict[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """count pushes to each process, in run n's order, while the machine is quiet; signed
    in as the lab's hospital system when signed is given."""

    def measure() -> dict[str, dict[str, Any]]:
        lines = setup.push_lines(f"run{n}", count)
        found = {}
        for mode in _turns(n):
            setup.idle.append(wait_until_idle(list(servers.values())))
            found[mode] = _ingest_once(
                servers[mode],
                setup.urls[mode],
                lines,
                setup.args.clients,
                count,
                setup.quiet,
                signed[mode]["lab"] if signed else "",
            )
        return found

    return setup.quiet.pair(measure)


def ingest_count(setup: Setup, servers: dict[str, Server]) -> tuple[int, dict[str, float]]:
    """Pushes counted per run, from a warm-up's rate (not recorded), which also makes every
    patient's data key; and that rate per process."""
    warmup = ingest_pair(setup, servers, 0, max(setup.args.patients, MIN_BUNDLES))
    rates = {mode: warmup[mode]["rps"] for mode in MODES}
    count = max(MIN_BUNDLES, round(min(rates.values()) * setup.args.ingest_seconds))
    print(
        f"  ingest: warm-up {rates['sealed']:.1f} / {rates['unsealed']:.1f} Bundles/s "
        f"(sealed / unsealed); {count} counted per run",
        flush=True,
    )
    return count, rates


def fetch_scenarios(
    paths: dict[str, dict[str, str]], clients: int, signed: dict[str, dict[str, str]]
) -> dict[tuple[str, str], Scenario]:
    """Each fetch scenario on each process, as the citizen signed in."""
    return {
        (name, mode): Scenario(
            name, name, "GET", paths[kind][mode], clients=n, authorization=signed[mode]["citizen"]
        )
        for name, kind, n in _shapes(clients)
        for mode in MODES
    }


def _shapes(clients: int) -> list[tuple[str, str, int]]:
    """The fetch scenarios: name, request, clients."""
    return [("fetch", "fetch", clients), ("fetch-1", "fetch", 1), ("read", "read", clients)]


def fetch_pairs(
    setup: Setup,
    servers: dict[str, Server],
    scenarios: dict[tuple[str, str], Scenario],
    n: int,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Each fetch scenario on both processes, back to back in run n's order."""
    seconds = setup.args.seconds

    def once(name: str, mode: str) -> dict[str, Any]:
        setup.idle.append(wait_until_idle(list(servers.values())))
        sample = setup.quiet.measure(run_wrk, servers[mode], scenarios[(name, mode)], seconds)
        if sample["errors"]:
            raise RuntimeError(f"{name}, {mode}: {sample['errors']:.0f} errors")
        sample["cpu_ms"] = sample["server_cpu"] / sample["rps"] * 1000
        return sample

    return {
        name: setup.quiet.pair(lambda name=name: {m: once(name, m) for m in _turns(n)})
        for name, _kind, _clients in _shapes(setup.args.clients)
    }


def warm_up_ingest(
    setup: Setup, servers: dict[str, Server], signed: dict[str, dict[str, str]]
) -> None:
    """A fresh process's first pushes, not recorded."""
    pushes = 2 * setup.args.clients
    lines = setup.push_lines("warm", pushes)
    for mode, server in servers.items():
        lab = signed[mode]["lab"]
        _ingest_once(server, setup.urls[mode], lines, setup.args.clients, pushes, setup.quiet, lab)


def measured_run(setup: Setup, n: int, count: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Run n on fresh processes serving signed-in callers, the database's backends beside
    them once they are warmed up: the ingest pair, then the fetch pairs. Samples by scenario
    and process."""
    with serving(setup, "smart") as servers:
        signed = signed_in(setup, servers)
        citizen = {mode: signed[mode]["citizen"] for mode in MODES}
        check_fetch(servers, setup.paths["fetch"], setup.args.reports, citizen)
        scenarios = fetch_scenarios(setup.paths, setup.args.clients, signed)
        warm_up_ingest(setup, servers, signed)
        if setup.args.server_cpus and setup.databases:
            setup.pinned.append(pin_database_backends(setup.databases, setup.args.server_cpus))
        found = {"ingest": ingest_pair(setup, servers, n, count, signed)}
        if setup.databases:
            for url in setup.urls.values():
                vacuum_analyze(url)  # as autovacuum would soon do, not in a fetch sample
        setup.quiet.wait()
        for (_name, mode), scenario in scenarios.items():  # warm-up, not recorded
            run_wrk(servers[mode], scenario, setup.args.warm_seconds)
        if setup.args.server_cpus and setup.databases:  # any backend the fetches opened
            pin_database_backends(setup.databases, setup.args.server_cpus)
        found.update(fetch_pairs(setup, servers, scenarios, n))
    return found


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


def seed_and_check(setup: Setup, backend: str, servers: dict[str, Server]) -> dict[str, Any]:
    """Both databases seeded alike, answering alike and stored as they should be; the ids and
    paths go into setup; returns the fetch's answer."""
    args = setup.args
    began = time.monotonic()
    seeded = setup.seeded = {mode: seed(servers[mode], args) for mode in MODES}
    if backend == "postgresql":
        for url in setup.urls.values():
            vacuum_analyze(url)
    print(
        f"  seeded {args.patients + 1} Patients and {args.reports} reports in "
        f"{time.monotonic() - began:.1f} s",
        flush=True,
    )
    paths = setup.paths = {
        "fetch": {
            m: f"/fhir/DiagnosticReport?patient=Patient/{seeded[m]['citizen']}"
            "&_include=DiagnosticReport:result&_sort=-date"
            for m in MODES
        },
        "read": {m: f"/fhir/Observation/{seeded[m]['observation']}" for m in MODES},
    }
    answer = check_fetch(servers, paths["fetch"], args.reports)
    for mode in MODES:
        wrong = wrong_in_store(mode, stored_checks(setup.urls[mode]))
        if wrong:
            raise RuntimeError(f"{mode} after seeding: {wrong}")
    print(
        f"  fetch answers {answer['matches']} reports and {answer['included']} "
        f"Observations alike on both ({answer['bytes']['sealed']:,} bytes)",
        flush=True,
    )
    return answer


def backend_run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()[0]
    print(f"{backend}: load average {load:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="medsvc-results-") as tmp, ExitStack() as stack:
        urls = {}
        for mode in MODES:
            database = booking_bench.scratch_database(backend, Path(tmp), mode)
            urls[mode] = stack.enter_context(database)
            migrate.upgrade(urls[mode])
        databases = tuple(url.rsplit("/", 1)[1] for url in urls.values() if "postgresql" in url)
        setup = Setup(urls, Path(tmp), args, Quiet(args.max_wait, databases), databases)
        with serving(setup, "open") as servers:
            answer = seed_and_check(setup, backend, servers)
            count, rates = ingest_count(setup, servers)
        names = ["ingest", *(name for name, _kind, _clients in _shapes(args.clients))]
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            name: {mode: [] for mode in MODES} for name in names
        }
        for n in range(args.runs):
            for name, pair in measured_run(setup, n, count).items():
                for mode, sample in pair.items():
                    runs[name][mode].append(sample)
                    _print(n, name, mode, sample, "Bundles/s" if name == "ingest" else "req/s")
        stored = {mode: stored_checks(urls[mode]) for mode in MODES}
        for mode in MODES:
            wrong = wrong_in_store(mode, stored[mode])
            if wrong:
                raise RuntimeError(f"{mode} after the runs: {wrong}")
        return {
            "backend": backend,
            "load_before": load,
            "fetch_answer": answer,
            "paths": {k: v["sealed"] for k, v in setup.paths.items()},
            "scenarios": [
                {
                    "name": "ingest",
                    "clients": args.clients,
                    "count": count,
                    "warmup": rates,
                    **_summary(runs["ingest"]),
                },
                *(
                    {"name": name, "clients": clients, **_summary(runs[name])}
                    for name, _kind, clients in _shapes(args.clients)
                ),
            ],
            "quiet": setup.quiet.facts(),
            "backends_pinned": setup.pinned,
            "idle_waits": setup.idle,
            "stored": stored,
            "version": (
                postgres_version(urls["sealed"])
                if backend == "postgresql"
                else sqlite3.sqlite_version
            ),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured runs; medians are kept")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per fetch run")
    parser.add_argument(
        "--warm-seconds",
        type=int,
        default=1,
        help="seconds of each fetch scenario on a run's fresh processes before it is measured",
    )
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
