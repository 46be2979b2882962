"""The app benchmark: the citizens' app's main pages, signed in, each beside the FHIR calls it
makes, replayed over HTTP in the same run; the results go into the marked section of
docs/benchmarks.md (app_report.py).

Per backend (SQLite, PostgreSQL): a fresh database seeded in-process (app_seed.py), served by
one medsvc process as production runs it (sign-in mode, BENCH_AUTH=smart; the periodic jobs
off, as where `medsvc worker` runs them). The citizen signs in over HTTP through the app's own
flow (/app/signin, the server's sign-in form, /app/callback) and wrk sends the session cookie;
the FHIR calls carry an access token for the same citizen with the scopes the app's sign-in
grants (tokens.py). app.lua sends a page, or the FHIR calls that page makes in the order it
makes them, from each connection (one a thread): a sequence is done when its last call is
answered. Each round, every page and its calls are measured at 1 and 16 clients in the order
page, calls, calls, page (or the reverse), so that a change in the machine's speed during the
round weighs on both alike, while the machine is otherwise quiet (results_quiet.py); the
section shows the medians.
"""

import argparse
import functools
import json
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import app_report
import app_seed
import booking_bench
import httpx
import pinned_run
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

from medsvc import clock
from medsvc.config import Settings
from medsvc.kit import migrate
from medsvc.security import scopes
from medsvc.security.authorize import CONTEXTS
from medsvc.web import client, directory, display
from medsvc.web.pages import find, results

ROOT = BENCH_DIR.parent
SCRIPT = BENCH_DIR / "app.lua"
CLIENTS = (1, 16)
SIDES = ("page", "fhir")
PAGES = ("find", "doctor", "hospital", "results", "report", "trend")
COOKIE = "medsvc_session"  # web/cookies.py, over http
ACCEPT = {"page": "text/html,application/xhtml+xml", "fhir": "application/fhir+json"}
# The longest sample: the slowest page at 16 clients takes a second or more, so ten of them
# per connection would take minutes, three rounds of it on each database.
LONGEST = 30
TREND_POINTS = 20  # web/pages/trend.py's POINTS: the latest values drawn


@dataclass(frozen=True)
class Page:
    name: str
    label: str
    path: str  # the app's page
    calls: tuple[str, ...]  # the FHIR requests the page makes for it, in its order


def _fhir(path: str, params: dict[str, Any]) -> str:
    return f"/fhir/{path}?{urlencode(params, doseq=True)}"


def _find_call(**narrowed: str) -> str:
    """$find as web/directory.find asks it: the window from now (the page's own window moves
    on a little during a run; the seeded times all lie well inside both)."""
    start = clock.now()
    params = {
        "start": display.instant(start),
        "end": display.instant(start + timedelta(days=directory.WINDOW_DAYS)),
        "_count": str(directory.MOST_OFFERED),
        **narrowed,
    }
    return _fhir("Appointment/$find", params)


def _names_call(kind: str, ids: list[str]) -> str:
    """web/directory.names: one search by _id for the names of the references."""
    return _fhir(kind, {"_id": ",".join(sorted(ids)), "_count": str(len(ids))})


def pages(seeded: app_seed.Seeded) -> list[Page]:
    """The pages measured and the FHIR calls each makes (read from web/pages/find.py,
    results.py and trend.py, web/directory.py and web/reads.py)."""
    patient, typed = f"Patient/{seeded.citizen}", app_seed.SEARCHED
    listed = str(find.MOST_LISTED)
    doctor, hospital = seeded.searched, seeded.hospital
    trend_code = f"{app_seed.LOINC}|{app_seed.TREND_CODE}"
    return [
        Page(
            "find",
            f"find a doctor by name: `/app/find?q={typed}`",
            f"/app/find?{urlencode({'q': typed})}",
            (
                _fhir("Organization", {"_count": listed, "name:contains": typed}),
                _fhir("Practitioner", {"name:contains": typed, "_count": listed}),
            ),
        ),
        Page(
            "doctor",
            "a doctor's free times by day: `/app/find/doctors/{id}`",
            f"/app/find/doctors/{doctor}",
            (
                _names_call("Practitioner", [doctor]),
                _find_call(practitioner=f"Practitioner/{doctor}"),
            ),
        ),
        Page(
            "hospital",
            "a hospital's departments: `/app/find/hospitals/{id}`",
            f"/app/find/hospitals/{hospital}",
            (
                _names_call("Organization", [hospital]),
                _fhir(
                    "PractitionerRole",
                    {
                        "organization": f"Organization/{hospital}",
                        "_include": "PractitionerRole:practitioner",
                        "_count": str(directory.MOST_OFFERED),
                    },
                ),
            ),
        ),
        Page(
            "results",
            f"results: `/app/results`, {app_seed.REPORTS} reports",
            "/app/results",
            (
                _fhir(
                    "DiagnosticReport",
                    {
                        "patient": patient,
                        "_sort": "-date",
                        "_count": str(results.LISTED),
                        "_include": "DiagnosticReport:performer",
                    },
                ),
                f"/fhir/{patient}/$waiting-results",  # results.py's _waiting
            ),
        ),
        Page(
            "report",
            f"a report: `/app/results/{{id}}`, {len(app_seed.TESTS)} observations",
            f"/app/results/{seeded.panel}",
            (
                _fhir(
                    "DiagnosticReport",
                    {
                        "_id": seeded.panel,
                        "_include": ["DiagnosticReport:result", "DiagnosticReport:performer"],
                        "_revinclude": "DocumentReference:related",
                    },
                ),
            ),
        ),
        Page(
            "trend",
            f"a measurement's trend: `/app/trend?code={trend_code}`, "
            f"{app_seed.TREND_REPORTS} values",
            f"/app/trend?{urlencode({'code': trend_code})}",
            (
                _fhir(
                    "Observation",
                    {
                        "patient": patient,
                        "code": trend_code,
                        "_sort": "-date",
                        "_count": str(TREND_POINTS),
                    },
                ),
            ),
        ),
    ]


# --- signing in -----------------------------------------------------------------------------


class _Inputs(HTMLParser):
    """The inputs of the sign-in page's form, as a browser submits them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def _expect(response: httpx.Response, status: int, step: str) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"sign-in, {step}: {response.status_code} {response.text[:1000]}")
    return response


def sign_in(server: Server) -> str:
    """The citizen's sign-in as a browser goes through it; returns the session cookie."""
    with httpx.Client(base_url=server.url, timeout=60) as browser:
        start = _expect(browser.get("/app/signin"), 303, "/app/signin")
        form = _expect(browser.get(start.headers["location"]), 200, "the sign-in page")
        inputs = _Inputs()
        inputs.feed(form.text)
        typed = {"username": app_seed.USERNAME, "password": app_seed.PASSWORD, "otp": ""}
        posted = browser.post(
            "/auth/authorize", data={**inputs.fields, **typed}, headers={"Origin": server.url}
        )
        _expect(posted, 302, "the sign-in form")
        done = _expect(browser.get(posted.headers["location"]), 303, "/app/callback")
        if done.headers["location"] != "/app/" or not browser.cookies.get(COOKIE):
            raise RuntimeError(f"sign-in: no session ({done.headers})")
        return str(browser.cookies[COOKIE])


def citizen_token(server: Server, keys: Path, patient: str) -> str:
    """An access token for the citizen with what the app's sign-in grants a patient (its
    request narrowed as the authorization endpoint narrows it)."""
    base = server.env["MEDSVC_BASE_URL"]
    granted = " ".join(scopes.narrow(client.SCOPE, client.SCOPE, CONTEXTS["patient"]))
    return tokens.citizen(keys, base, patient, scope=granted)


# --- checks ---------------------------------------------------------------------------------


def _counts(body: dict[str, Any]) -> dict[str, int]:
    """Resources in a searchset by type and mode: "DiagnosticReport match": 50."""
    found: dict[str, int] = {}
    for entry in body.get("entry") or []:
        mode = (entry.get("search") or {}).get("mode", "match")
        key = f"{entry['resource']['resourceType']} {mode}"
        found[key] = found.get(key, 0) + 1
    return found


def _expected(page: str, seeded: app_seed.Seeded) -> dict[int, dict[str, int]]:
    """What some calls must answer, by call: the seeded data, seen by the citizen."""
    per_doctor = app_seed.DAYS * app_seed.SLOTS_PER_DAY
    return {
        "find": {1: {"Practitioner match": 1}},
        "doctor": {0: {"Practitioner match": 1}, 1: {"Appointment match": per_doctor}},
        "hospital": {
            0: {"Organization match": 1},
            1: {
                "PractitionerRole match": len(seeded.doctors),
                "Practitioner include": len(seeded.doctors),
            },
        },
        "results": {0: {"DiagnosticReport match": app_seed.REPORTS, "Organization include": 1}},
        "report": {
            0: {
                "DiagnosticReport match": 1,
                "Observation include": len(app_seed.TESTS),
                "Organization include": 1,
            }
        },
        "trend": {0: {"Observation match": app_seed.TREND_REPORTS}},
    }[page]


def check_calls(server: Server, token: str, page: Page, seeded: app_seed.Seeded) -> list[Any]:
    """Each FHIR call of the page answers 200, with what was seeded where that is known."""
    found = []
    headers = {"Authorization": token, "Accept": ACCEPT["fhir"]}
    for n, call in enumerate(page.calls):
        response = httpx.get(server.url + call, headers=headers, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"{page.name}, {call}: {response.status_code} {response.text[:500]}")
        counts = _counts(response.json())
        for key, count in _expected(page.name, seeded).get(n, {}).items():
            if counts.get(key, 0) != count:
                raise RuntimeError(f"{page.name}, {call}: {counts}, expected {key} {count}")
        found.append({"call": call, "bytes": len(response.content), "found": counts})
    return found


def check_page(server: Server, cookie: str, page: Page, seeded: app_seed.Seeded) -> int:
    """The page answers 200 to the signed-in citizen (else its status) and shows what was
    seeded: every report on the list, every result of the report."""
    response = httpx.get(
        server.url + page.path,
        headers={"Cookie": f"{COOKIE}={cookie}", "Accept": ACCEPT["page"]},
        timeout=60,
    )
    if response.status_code != 200:
        return response.status_code
    shown = {
        "results": [f"/app/results/{r}" for r in seeded.reports],
        "report": [code for code, _unit, _typical in app_seed.TESTS],
        "find": [f"/app/find/doctors/{seeded.searched}"],
        "hospital": [f"/app/find/doctors/{doctor}" for doctor in seeded.doctors],
    }.get(page.name, [])
    missing = [text for text in shown if text not in response.text]
    if missing:
        raise RuntimeError(f"{page.name}: the page does not show {missing[:5]}")
    return 200


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Setup:
    """What one backend's samples share."""

    server: Server
    args: argparse.Namespace
    quiet: Quiet
    scratch: Path
    cookie: str
    token: str
    idle: list[float]

    def paths(self, page: Page, side: str) -> Path:
        """The file of paths app.lua sends in turn: the page, or its FHIR calls."""
        path = self.scratch / f"{page.name}-{side}.txt"
        if not path.exists():
            path.write_text("\n".join([page.path] if side == "page" else page.calls) + "\n")
        return path


def sample(
    setup: Setup, page: Page, side: str, clients: int, seconds: int, checked: bool = True
) -> dict[str, Any]:
    """One wrk run of the page, or of its calls, from one connection per client; checked:
    refused unless every answer was 200 and a sequence was done."""
    env = {
        "BENCH_PATHS": str(setup.paths(page, side)),
        "BENCH_ACCEPT": ACCEPT[side],
        "BENCH_COOKIE": f"{COOKIE}={setup.cookie}" if side == "page" else "",
    }
    token = setup.token if side == "fhir" else ""
    scenario = Scenario(page.name, page.label, "GET", "/", clients=clients, authorization=token)
    found = run_wrk(setup.server, scenario, seconds, script=SCRIPT, threads=clients, env=env)
    if checked and (found["errors"] or not found["rps"]):
        log = setup.server.log_path.read_text()[-3000:]
        raise RuntimeError(f"{page.name}, {side}, {clients} clients: {found}\n{log}")
    found["cpu_ms"] = found["server_cpu"] / found["rps"] * 1000 if found["rps"] else 0.0
    found["calls_p50_ms"] = sum(found["step_p50_us"]) / 1000
    return found


def _turns(n: int) -> tuple[str, ...]:
    """The order of round n's four samples: page, calls, calls, page in even rounds, the
    reverse in odd ones. A drift of the machine's speed that is steady over a round falls
    on both sides alike, which two samples back to back do not give: this machine's CPU time
    for the same work moves by a tenth or more from one sample to the next."""
    first = SIDES if n % 2 == 0 else SIDES[::-1]
    return (*first, *first[::-1])


def run_seconds(setup: Setup, page: Page) -> dict[int, int]:
    """Seconds per sample of the page and of its calls, by clients: half of --seconds (each
    side is sampled twice a round), and at least ten sequences per connection, judged from a
    warm-up with one client (not recorded), up to LONGEST. Every sample starts all
    connections at once and a sequence unfinished at its end is not counted, so a short
    sample of a slow page would lose a good part of itself."""
    slowest = 0.0
    for side in SIDES:
        warm = sample(setup, page, side, 1, setup.args.warm_seconds, checked=False)
        slowest = max(slowest, warm["p50_ms"] / 1000 if warm["rps"] else setup.args.warm_seconds)
    half = math.ceil(setup.args.seconds / 2)
    return {c: min(LONGEST, max(half, math.ceil(10 * slowest * c))) for c in CLIENTS}


def _joined(halves: list[dict[str, Any]]) -> dict[str, Any]:
    """One side's two samples of a round as one: their time, pages and CPU added up (the rate
    and CPU a page from the totals), their percentiles averaged, the worse other load."""
    seconds = sum(h["seconds"] for h in halves)

    def total(key: str) -> float:
        return sum(float(h[key]) * h["seconds"] for h in halves)

    joined = {
        **halves[0],
        "seconds": seconds,
        "rps": total("rps") / seconds,
        "server_cpu": total("server_cpu") / seconds,
        "wrk_cpu": total("wrk_cpu") / seconds,
        "p50_ms": statistics.mean(h["p50_ms"] for h in halves),
        "p99_ms": statistics.mean(h["p99_ms"] for h in halves),
        "errors": sum(h["errors"] for h in halves),
        "foreign_cpu": max(h["foreign_cpu"] for h in halves),
        "step_p50_us": [
            statistics.mean(s) for s in zip(*(h["step_p50_us"] for h in halves), strict=True)
        ],
        "halves": [{k: h[k] for k in ("seconds", "rps", "cpu_ms", "p50_ms")} for h in halves],
    }
    joined["cpu_ms"] = joined["server_cpu"] / joined["rps"] * 1000 if joined["rps"] else 0.0
    joined["calls_p50_ms"] = sum(joined["step_p50_us"]) / 1000
    return joined


def pair(setup: Setup, page: Page, clients: int, n: int, seconds: int) -> dict[str, dict[str, Any]]:
    """The page and its calls in round n's order, each sample once the server is idle, while
    the machine is otherwise quiet (measured again if it was not)."""

    def four() -> dict[str, dict[str, Any]]:
        halves: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
        for side in _turns(n):
            setup.idle.append(wait_until_idle([setup.server]))
            measure = functools.partial(sample, setup, page, side, clients, seconds)
            halves[side].append(setup.quiet.measure(measure))
        return {side: _joined(found) for side, found in halves.items()}

    return setup.quiet.pair(four)


KEYS = ("rps", "p50_ms", "p99_ms", "cpu_ms", "server_cpu", "wrk_cpu", "foreign_cpu")


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians of the rounds per side, and the page over its calls, round by round (measured
    in turns, page, calls, calls, page) and the median of those."""
    found: dict[str, Any] = {}
    for side in SIDES:
        samples = runs[side]
        found[side] = {k: statistics.median(float(s[k]) for s in samples) for k in KEYS}
        steps = len(samples[0]["step_p50_us"])
        found[side]["step_p50_ms"] = [
            statistics.median(s["step_p50_us"][i] for s in samples) / 1000 for i in range(steps)
        ]
        found[side]["calls_p50_ms"] = sum(found[side]["step_p50_ms"])
    paired = [
        {
            "cpu": p["cpu_ms"] / f["cpu_ms"],
            "time": f["rps"] / p["rps"],
            "p50": p["p50_ms"] / f["p50_ms"],
            "p99": p["p99_ms"] / f["p99_ms"],
        }
        for p, f in zip(runs["page"], runs["fhir"], strict=True)
    ]
    found["ratio"] = {k: statistics.median(x[k] for x in paired) for k in paired[0]}
    return {**found, "paired": paired, "runs": runs}


def _print(n: int, page: str, clients: int, side: str, s: dict[str, Any]) -> None:
    print(
        f"  round {n + 1} {page:<9} {clients:>2} clients {side:<5} {s['rps']:7.1f}/s "
        f"p50 {s['p50_ms']:7.2f} p99 {s['p99_ms']:7.2f} ms  CPU {s['cpu_ms']:6.2f} ms a "
        f"{'page' if side == 'page' else 'sequence'} ({s['server_cpu']:.0%}), "
        f"other load {s['foreign_cpu']:.2f} cores",
        flush=True,
    )


# --- profiling ------------------------------------------------------------------------------


def _spy(setup: Setup, page: Page, side: str, out: Path) -> dict[str, Any] | None:
    """py-spy's raw samples of the server while one client asks for the page, or for its
    calls, written to out; the wrk sample taken meanwhile, or None if py-spy failed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    seconds = setup.args.seconds
    assert setup.server.process is not None
    command = [
        spy,
        "record",
        "--pid",
        str(setup.server.process.pid),
        "--duration",
        str(seconds),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--output",
        str(out),
    ]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as spying:
        time.sleep(0.5)  # attached before the load starts
        found = sample(setup, page, side, 1, seconds)
        _out, err = spying.communicate(timeout=60)
    if spying.returncode != 0 or not out.exists():
        print(f"  py-spy failed: {err.decode()[-500:]}", flush=True)
        return None
    return found


def profile(setup: Setup, page: Page, backend: str) -> dict[str, Any] | None:
    """py-spy's samples of the server while one client asks for the page, then for its calls
    over HTTP (collapsed stacks, kept beside the results): the share of the page's samples in
    each part of its work, and the API's work for the calls in the page and over HTTP."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("  no py-spy (pip install py-spy): not profiled", flush=True)
        return None
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    files = {
        side: BENCH_DIR / "results" / f"app-profile-{backend}-{page.name}-{side}.txt"
        for side in SIDES
    }
    samples = {side: _spy(setup, page, side, files[side]) for side in SIDES}
    if not all(samples.values()):
        return None
    return {
        "page": page.name,
        "file": str(files["page"].relative_to(ROOT)),
        "calls_file": str(files["fhir"].relative_to(ROOT)),
        **app_report.shares(files["page"]),
        "api_work": {side: app_report.api_work(files[side], samples[side]) for side in SIDES},
    }


# --- the run --------------------------------------------------------------------------------


def _server_env(url: str, port: int, keys: Path) -> dict[str, str]:
    return {
        **booking_bench.medsvc_env(url, port),
        "BENCH_AUTH": "smart",  # as production: tokens verified, every access audited
        "MEDSVC_KEYS_DIR": str(keys),
        "MEDSVC_JOBS": "off",  # as where `medsvc worker` runs them: no job in a sample
    }


def checked_pages(
    server: Server, cookie: str, token: str, seeded: app_seed.Seeded, args: argparse.Namespace
) -> tuple[list[Page], dict[str, Any], dict[str, int]]:
    """The pages to measure (the trend's only if the app has it), what their calls answer,
    and the pages left out with their status."""
    measured, answers, absent = [], {}, {}
    for page in pages(seeded):
        if page.name not in args.pages:
            continue
        status = check_page(server, cookie, page, seeded)
        if status != 200:
            if page.name != "trend":
                raise RuntimeError(f"{page.name}: {page.path} answers {status}")
            absent[page.name] = status
            print(f"  {page.path} answers {status}: the trend is not measured", flush=True)
            continue
        answers[page.name] = check_calls(server, token, page, seeded)
        measured.append(page)
    return measured, answers, absent


def backend_run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()[0]
    print(f"{backend}: load average {load:.2f}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="medsvc-app-") as tmp,
        booking_bench.scratch_database(backend, Path(tmp), "app") as url,
    ):
        scratch, keys, port = Path(tmp), Path(tmp) / "keys", free_port()
        migrate.upgrade(url)
        env = _server_env(url, port, keys)
        settings = Settings(
            database_url=url,
            base_url=env["MEDSVC_BASE_URL"],
            keys_dir=keys,
            auth_mode="smart",
            log_level="WARNING",
        )
        began = time.monotonic()
        seeded = app_seed.seed(settings)
        if backend == "postgresql":  # what autovacuum does on a live server, done now
            vacuum_analyze(url)
        seed_seconds = time.monotonic() - began
        print(f"  seeded in {seed_seconds:.0f} s", flush=True)
        databases = (url.rsplit("/", 1)[1],) if backend == "postgresql" else ()
        with Server(
            "medsvc-app", "medsvc_launcher:create", env, 1, scratch, port, cpus=args.server_cpus
        ) as server:
            cookie = sign_in(server)
            token = citizen_token(server, keys, seeded.citizen)
            measured, answers, absent = checked_pages(server, cookie, token, seeded, args)
            setup = Setup(server, args, Quiet(args.max_wait, databases), scratch, cookie, token, [])
            lengths = {p.name: run_seconds(setup, p) for p in measured}
            pinned = (
                pin_database_backends(databases, args.server_cpus)
                if args.server_cpus and databases
                else 0
            )
            runs: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = {
                (p.name, c): {side: [] for side in SIDES} for p in measured for c in CLIENTS
            }
            for n in range(args.rounds):
                for page in measured:
                    for clients in CLIENTS:
                        seconds = lengths[page.name][clients]
                        for side, found in pair(setup, page, clients, n, seconds).items():
                            runs[(page.name, clients)][side].append(found)
                            _print(n, page.name, clients, side, found)
            profiles = [
                found
                for page in measured
                if page.name in args.profile
                if (found := profile(setup, page, backend))
            ]
        version = postgres_version(url) if backend == "postgresql" else sqlite3.sqlite_version
    return {
        "backend": backend,
        "version": version,
        "load_before": load,
        "seed_seconds": seed_seconds,
        "seeded": {k: v for k, v in asdict(seeded).items() if k not in ("doctors", "reports")},
        "answers": answers,
        "absent": absent,
        "pages": [
            {
                **asdict(page),
                "clients": {str(c): summary(runs[(page.name, c)]) for c in CLIENTS},
            }
            for page in measured
        ],
        "profiles": profiles,
        "quiet": setup.quiet.facts(),
        "idle_waits": setup.idle,
        "backends_pinned": pinned,
        "seconds": lengths,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are kept")
    parser.add_argument("--seconds", type=int, default=8, help="seconds per sample")
    parser.add_argument(
        "--warm-seconds", type=int, default=3, help="seconds of each page and its calls first"
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=1200,
        help="seconds in all a backend's samples may wait for the machine to be quiet "
        "(other load under 0.3 cores) before measuring anyway",
    )
    parser.add_argument(
        "--pages",
        nargs="+",
        default=list(PAGES),
        choices=PAGES,
        metavar="PAGE",
        help="the pages measured (default: all)",
    )
    parser.add_argument(
        "--profile",
        nargs="*",
        default=list(PAGES),
        metavar="PAGE",
        help="pages profiled with py-spy after the rounds, if it is installed (default: "
        "all; none without a name)",
    )
    pinned_run.add_run_arguments(parser)
    args = parser.parse_args()
    output = args.output or ROOT / "docs" / "benchmarks.md"
    if args.render:
        app_report.write_section(output, app_report.render(json.loads(args.render.read_text())))
        print(f"wrote the app section of {output}")
        return 0
    if args.quick:
        args.rounds, args.seconds, args.warm_seconds, args.max_wait = 1, 3, 1, 60
    if shutil.which("wrk") is None:
        print("bench: needs wrk (apt-get install -y wrk)", file=sys.stderr)
        return 2
    return pinned_run.run_and_report(
        args, "app", backend_run, app_report.render, app_report.write_section, output
    )


if __name__ == "__main__":
    sys.exit(main())
