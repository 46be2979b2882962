"""The results benchmark's section of docs/benchmarks.md: sealed beside unsealed, the cost of
sealing against its target, and how it was measured, between markers that bench/report.py
keeps when http_bench.py rewrites the page."""

import statistics
from pathlib import Path
from typing import Any

from page import NEEDS_WRK_AND_POSTGRES, ms, rate, raw_runs, reproducing, verdict, write_marked

START, END = "<!-- results-bench:start -->", "<!-- results-bench:end -->"
TARGET = 0.10  # sealing costs at most 10% of ingest and fetch time
LABELS = {
    "ingest": "ingest: `POST /fhir`, a report and 20 Observations",
    "fetch": "fetch: the citizen's reports with their Observations",
    "fetch-1": "fetch, 1 client",
    "read": "read: `GET /fhir/Observation/{id}`",
}


def write_section(page: Path, section: str) -> None:
    write_marked(page, section, START, END)


def _pct(cost: float) -> str:
    return f"{cost:+.1%}"


def _unit(name: str) -> str:
    return "Bundles/s" if name == "ingest" else "req/s"


def _tables(b: dict[str, Any]) -> list[str]:
    out = [
        "| scenario | clients | sealed | unsealed | time cost | sealed CPU ms | "
        "unsealed CPU ms | CPU cost | sealed CPU | unsealed CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in b["scenarios"]:
        se, un, c = s["sealed"], s["unsealed"], s["cost"]
        out.append(
            f"| {LABELS[s['name']]} | {s['clients']} | {rate(se['rps'])} "
            f"{_unit(s['name'])} | {rate(un['rps'])} {_unit(s['name'])} | "
            f"{_pct(c['time'])} | {se['cpu_ms']:.2f} | {un['cpu_ms']:.2f} | "
            f"{_pct(c['cpu'])} | {se['server_cpu']:.0%} | {un['server_cpu']:.0%} |"
        )
    out += [
        "",
        "Latency (ms):",
        "",
        "| scenario | clients | sealed p50 | unsealed p50 | p50 cost | sealed p99 | "
        "unsealed p99 | p99 cost |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in b["scenarios"]:
        se, un, c = s["sealed"], s["unsealed"], s["cost"]
        out.append(
            f"| {s['name']} | {s['clients']} | {ms(se['p50_ms'])} | "
            f"{ms(un['p50_ms'])} | {_pct(c['p50'])} | {ms(se['p99_ms'])} | "
            f"{ms(un['p99_ms'])} | {_pct(c['p99'])} |"
        )
    return out


def _other_load(b: dict[str, Any]) -> str:
    samples = [
        r.get("foreign_cpu")
        for s in b["scenarios"]
        for m in ("sealed", "unsealed")
        for r in s["runs"][m]
    ]
    found = sorted(x for x in samples if x is not None)
    if not found:
        return f"- {b['backend']}: not recorded"
    middle = found[len(found) // 2]
    line = (
        f"- {b['backend']}: median {middle:.2f} cores, highest {found[-1]:.2f}, during the samples"
    )
    quiet = b.get("quiet")
    if quiet:
        line += (
            f"; the runs waited {quiet['waited_s']:.0f} s in all for the machine to be "
            f"quiet, and {quiet['redone']} pair(s) were measured again"
        )
        if quiet["gave_up"]:
            line += "; the wait gave up, so some pairs were measured on a busy machine"
    return line


def _by_run(s: dict[str, Any], key: str) -> str:
    return ", ".join(_pct(p[key]) for p in s["paired"])


def _paired(s: dict[str, Any], key: str) -> float:
    """The median of the runs' costs, each run's pair measured back to back."""
    return float(statistics.median(p[key] for p in s["paired"]))


def _cost(s: dict[str, Any], key: str, what: str) -> str:
    """One figure against the target: the median run's cost, the cost of the medians beside
    it, and every run's."""
    paired = _paired(s, key)
    return (
        f"{what} {_pct(paired)} in the median run (of the medians: {_pct(s['cost'][key])}; "
        f"run by run: {_by_run(s, key)}): {verdict(paired <= TARGET)}"
    )


def targets(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for b in results:
        found = {s["name"]: s for s in b["scenarios"]}
        ingest, fetch, fetch_1 = found["ingest"], found["fetch"], found["fetch-1"]
        lines.append(
            f"- Ingest, {b['backend']}: "
            + _cost(ingest, "time", f"time per Bundle at {ingest['clients']} clients")
            + f". p50 {_pct(_paired(ingest, 'p50'))}, server CPU per Bundle "
            f"{_pct(_paired(ingest, 'cpu'))}."
        )
        lines.append(
            f"- Fetch, {b['backend']}: one client, p50 {ms(fetch_1['sealed']['p50_ms'])} ms "
            f"against {ms(fetch_1['unsealed']['p50_ms'])} ms; "
            + _cost(fetch_1, "p50", "p50")
            + "; "
            + _cost(fetch_1, "p99", "p99")
            + f". At {fetch['clients']} clients, "
            + _cost(fetch, "time", "time per request")
            + "."
        )
        read = found["read"]
        lines.append(
            f"- Not part of the target, {b['backend']}: the read of one Observation costs "
            f"{_pct(_paired(read, 'time'))} in time per request at {read['clients']} clients "
            f"in the median run (run by run: {_by_run(read, 'time')}), p50 "
            f"{_pct(_paired(read, 'p50'))}."
        )
    return lines


def _runs(b: dict[str, Any]) -> list[str]:
    out = [
        "| scenario | process | per run | p50 ms per run | p99 ms per run |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in b["scenarios"]:
        for mode in ("sealed", "unsealed"):
            runs = s["runs"][mode]
            out.append(
                f"| {s['name']} | {mode} | "
                + ", ".join(rate(r["rps"]) for r in runs)
                + f" {_unit(s['name'])} | "
                + ", ".join(ms(r["p50_ms"]) for r in runs)
                + " | "
                + ", ".join(ms(r["p99_ms"]) for r in runs)
                + " |"
            )
    return out


def _method(saved: dict[str, Any]) -> list[str]:
    args, mach = saved["args"], saved["machine"]
    b = saved["results"][0]
    answer = b["fetch_answer"]
    counts = ", ".join(
        f"{r['backend']} {next(s for s in r['scenarios'] if s['name'] == 'ingest')['count']}"
        for r in saved["results"]
    )
    return [
        "The results are stored sealed: every version of a DiagnosticReport, Observation, "
        "DocumentReference, Binary, ServiceRequest and Specimen is encrypted with AES-256-GCM "
        "under its patient's data key, which is stored wrapped under a key-encryption key "
        "(`src/medsvc/results/at_rest.py`, `src/medsvc/fhir/sealing.py`). Each scenario is "
        "measured on two medsvc processes in the same run: **sealed**, as in service, and "
        "**unsealed**, with `MEDSVC_UNSEALED_RESULTS_FOR_BENCHMARKS=true`, a test-only "
        "setting that stores the results as plain JSON and indexes them exactly as when "
        "sealed (blind index tokens for codes, no value index). The difference is the cost "
        "of sealing and opening, data keys included.",
        "",
        "- **ingest**: `POST /fhir`, a transaction Bundle as a lab pushes it: 20 Observations "
        "of a blood panel (LOINC codes, UCUM quantities, category, effective and issued) and "
        "their DiagnosticReport, each written by conditional update on the lab's identifier "
        "(`PUT Observation?identifier=urn:lab:bench|...`), the Patient found by "
        "`Patient?identifier=urn:oid:1.2.246.21|<national id>`. Every request carries "
        "identifiers of its own, so each creates 21 resources "
        f"(`bench/results_bundles.py`); the pushes go to {args['patients']} Patients in turn. "
        "Sent by the lab's hospital system, signed in with its backend-services access token "
        "(`system/*.cruds`, for its Organization).",
        f"- **fetch**: `GET {b['paths']['fetch'].split('Patient/')[0]}Patient/{{id}}"
        "&_include=DiagnosticReport:result&_sort=-date`, a citizen's results, asked by the "
        "citizen signed in (an access token for their own record, `patient/DiagnosticReport.rs "
        "patient/Observation.rs`): the patient "
        f"has {answer['matches']} reports of 20 Observations, so the answer holds "
        f"{answer['matches'] + answer['included']} resources, each opened on the sealed "
        f"process ({answer['bytes']['sealed']:,} bytes). From {args['clients']} clients, and "
        "from 1 client for the latency without queueing.",
        "- **read**: `GET /fhir/Observation/{id}`, one of that patient's Observations, asked "
        "by them.",
        "",
        "How:",
        "",
        "- Each process is `medsvc.app.create_app` in its own uvicorn process (1 worker) with "
        "default settings, on a fresh migrated database of its own (a SQLite file in a "
        "temporary directory, or a dedicated `medsvc_bench_*` PostgreSQL database that is "
        "dropped afterwards) and a key directory of its own, in sign-in mode as production "
        "runs it (`bench/medsvc_launcher.py`, `BENCH_AUTH=smart`). The access tokens are "
        "signed with each process's own signing key, with the claims its authorization "
        "server gives a citizen and a hospital system (`bench/tokens.py`), so every request "
        "goes through what production does: the token's signature, expiry and audience, the "
        "revocation check, the scopes, the patient's compartment or the hospital's, the "
        "release rule (a citizen sees released results only; these are final, so released "
        "when pushed), and an AuditEvent (a push's stored before it is answered, a read's by "
        "the background writer). The seeding (below) goes through open mode instead. Neither "
        "runs the periodic jobs (`MEDSVC_JOBS=off`, as where `medsvc worker` runs them), "
        "which in the process not being measured would share the CPU of the one that is.",
        "- **Fresh processes for every run.** Each run starts a sealed and an unsealed "
        "process on the two databases and stops them at its end, so that what one process "
        "happens to be (its memory layout, its hash seed) weighs on one run, not on all: two "
        "identical processes measured side by side differ by a few percent, and by the same "
        "few percent run after run while they live.",
        _pinning(saved),
        "- Both processes are seeded alike over HTTP: the Patients in one transaction, then "
        "the citizen's reports as lab pushes, and the lab's Organization. Before measuring, "
        "and again as the citizen signed in on each run's fresh processes, the run checks "
        "that the fetch "
        "answers the same reports, newest first, and the same Observation values on both, "
        "and that every stored version of a result is sealed (first byte 0x01) on the sealed "
        "process and JSON on the other; after the runs, that every push created its 21 "
        "resources (20 Observations per report, every result at version 1) and that the "
        "stored versions are still all sealed, or all JSON.",
        f"- Ingest load: {mach['wrk']}, 1 thread, {args['clients']} keep-alive connections in "
        "a closed loop, `bench/booking.lua`: every request is read from a file of distinct "
        "pushes and sent once. A run counts a fixed number of answers, set from the warm-up's "
        f"rate to last about {args['ingest_seconds']:.0f} s and at least 40 ({counts}); "
        "Bundles/s is that "
        "count over the time from the first request to the last counted answer, p50/p99 are "
        "wrk's. Any answer but 200 stops the benchmark. The pushes still in flight at the "
        "stop are written before the next run starts. A first warm-up (not recorded) makes "
        "every patient's data key, which the first result of a patient creates; each run's "
        f"fresh processes first take {2 * args['clients']} pushes each, not recorded.",
        f"- Fetch and read load: wrk, `bench/wrk.lua`, the same request for {args['seconds']} s "
        f"per run, after a {args['warm_seconds']} s warm-up of every scenario on both "
        "processes (not recorded). On PostgreSQL the two databases are vacuumed and "
        "analysed between a run's ingest and its fetches, as autovacuum would soon do.",
        "- Quiet machine: the CPU that processes outside the benchmark use is measured during "
        "every sample: the machine's busy time (`/proc/stat`) minus that of the benchmark's "
        "own processes (the two medsvc servers, wrk, the runner, and the PostgreSQL "
        "processes serving its two databases). Before each pair of samples (sealed and "
        "unsealed, back to back) the run waits until that is under 0.3 cores over a second, "
        "and a pair during which it exceeded 0.3 cores in either sample is measured again "
        "(an ingest pair with fresh identifiers) (`bench/results_quiet.py`).",
        f"- {args['runs']} runs; in each, the two processes take turns on every scenario, the "
        "sealed one first in odd runs and second in even ones. The tables show medians of "
        "the runs. **Cost** is sealed time over unsealed time minus one: for throughput, "
        "unsealed req/s over sealed req/s minus one (time per request); for latency, the "
        "ratio of the percentiles; `CPU ms` is the server process's CPU time per request "
        "(`CPU` its share of a core). The targets also give the cost run by run, each run's "
        "pair measured back to back, to show the spread. The target is judged on the median "
        "of those run-by-run costs: the database grows with every run's pushes and the "
        "figures drift from run to run, which a pair measured back to back cancels and a "
        "ratio of two medians, taken from different runs, does not.",
        "- Before each sample, the run waits until both medsvc processes are idle (under 0.05 "
        "of a core over half a second; "
        + _idle(saved)
        + "): a signed-in process stores the audit records of the reads it has answered in "
        "the background, and those of one sample would otherwise be written during the next, "
        "on the same CPU.",
        "",
    ]


def _idle(saved: dict[str, Any]) -> str:
    waits = [w for r in saved["results"] for w in r.get("idle_waits", [])]
    if not waits:
        return "not recorded"
    return (
        f"{len(waits)} waits, median {statistics.median(waits):.1f} s, longest {max(waits):.1f} s"
    )


def _pinning(saved: dict[str, Any]) -> str:
    cpus = saved.get("server_cpus")
    if not cpus:
        return "- The processes run wherever the scheduler puts them (not pinned)."
    line = (
        f"- Both medsvc processes are pinned to CPU {', '.join(map(str, cpus))} (with every "
        "thread they start), the runner and wrk to the other CPUs, so that sealed and "
        "unsealed run on the same core, one after the other."
    )
    pinned = [r.get("backends_pinned") for r in saved["results"] if r["backend"] == "postgresql"]
    if pinned and pinned[0]:
        line += (
            " On PostgreSQL, the database backends serving them are pinned to that CPU too, "
            "once a run's processes are warmed up "
            f"({', '.join(map(str, pinned[0]))} backends, run by run): a query then runs where "
            "its caller waits for it. Left to the scheduler, one client's latency moved by "
            "tenths of a millisecond from one sample to the next on this machine, between two "
            "identical processes as much as between sealed and unsealed. PostgreSQL's own "
            "processes (autovacuum included) run where the scheduler puts them."
        )
    elif pinned:
        line += " PostgreSQL runs where the scheduler puts it (its backends could not be moved)."
    return line


def render(saved: dict[str, Any]) -> str:
    mach, results = saved["machine"], saved["results"]
    out = [
        START,
        "## Results sealed at rest: what sealing costs",
        "",
        "Written by `bench/results_bench.py` (`make bench-results`) between the "
        "`results-bench` markers, which `make bench` keeps; do not edit by hand. Generated "
        f"{saved['when']} at commit {saved['code']}; the whole run took "
        f"{saved['elapsed'] / 60:.1f} minutes.",
        "",
        "### What is measured, and how",
        "",
        *_method(saved),
        "### Machine",
        "",
        f"- {mach['cores']} cores, {mach['cpu']}, {mach['memory']} RAM, Linux {mach['kernel']}",
        f"- Python {mach['python']}, {mach['versions']}; {mach['wrk']}",
        *(f"- {b['backend']}: {b['version']}" for b in results),
        "",
        "Server, load generator and the database server share the cores; the sealed and "
        "unsealed processes run the same code on the same machine in the same run, so their "
        "ratio carries over better than the absolute figures. CPU used by processes outside "
        "the benchmark during the samples, in cores:",
        "",
        *(_other_load(b) for b in results),
        "",
    ]
    for b in results:
        out += [f"### Sealed beside unsealed: {b['backend']}", "", *_tables(b), ""]
    out += [
        "### Target: sealing costs at most 10% of ingest and fetch time",
        "",
        *targets(results),
        "",
    ]
    out += raw_runs(results, _runs)
    out += reproducing(
        [
            "make bench-results                                 # both backends",
            ".venv/bin/python bench/results_bench.py --quick    # smoke test, prints it",
            ".venv/bin/python bench/results_bench.py --backend sqlite --runs 3",
        ],
        NEEDS_WRK_AND_POSTGRES,
        "results",
        END,
    )
    return "\n".join(out)
