"""The app benchmark's section of docs/benchmarks.md: each page beside the FHIR calls it makes,
the target judged, where a page's time goes (py-spy), and how it was measured, between markers
that bench/report.py keeps when http_bench.py rewrites the page."""

import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import app_seed
from page import NEEDS_WRK_AND_POSTGRES, ms, rate, raw_runs, reproducing, verdict, write_marked

START, END = "<!-- app-bench:start -->", "<!-- app-bench:end -->"
TARGET = 1.5  # a page costs at most 1.5 times the FHIR calls it makes


def write_section(page: Path, section: str) -> None:
    write_marked(page, section, START, END)


# --- where a page's time goes ---------------------------------------------------------------

# A sample whose innermost frame is one of these is a thread waiting (the event loop in
# uvloop's C code, a worker waiting for work, the audit writer for records), not working.
WAITING = ("Runner.run (asyncio/runners.py", "_worker (concurrent/futures/thread.py:81)", ".wait (")
# The parts of a page's work, the first that a sample's stack matches: (part, frames).
PARTS = (
    ("its session: the cookie's row read, the tokens opened", ("medsvc/web/person.py",)),
    ('its reports\' "new" marks read and written', ("medsvc/web/seen.py",)),
    ("the API's work for its calls (handlers, queries, audit)", ("medsvc/fhir/routes.py",)),
    ("the API's work for its calls (handlers, queries, audit)", ("threading.py",)),
    ("the calls in process: httpx, the ASGI transport, the API's middleware", ("web/api.py",)),
    (
        "the answers read: JSON parsed, names localised",
        ("Response.json (httpx", "read_json (medsvc/web/display.py"),
    ),
    ("the page drawn: templates, dates and numbers", ("medsvc/web/render.py", "jinja2", "babel")),
    (
        "the rows built from the answers",
        ("web/results_view.py", "web/directory.py", "web/trend.py", "web/display.py"),
    ),
)
REST = "the page's own request: uvicorn, middleware, routing"


def _part(frames: list[str]) -> str:
    for part, marks in PARTS:
        if any(mark in frame for frame in frames for mark in marks):
            return part
    return REST


def shares(path: Path) -> dict[str, Any]:
    """The working samples of a py-spy raw profile (collapsed stacks), by part of the page."""
    found: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or any(mark in frames[-1] for mark in WAITING):
            continue
        found[_part(frames)] += int(count)
    total = sum(found.values())
    return {"samples": total, "parts": {p: n / total for p, n in found.most_common()}}


API_WORK = PARTS[2][0]


def api_work(path: Path, found: dict[str, Any]) -> dict[str, float]:
    """The API's work for the calls (handlers, queries, audit) in a profile of the page or of
    its calls over HTTP: its share of the working samples, and the CPU it stands for in a
    page or a sequence of calls (that share of the sample's CPU a page or a sequence)."""
    working = api = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or any(mark in frames[-1] for mark in WAITING):
            continue
        working += int(count)
        api += int(count) if _part(frames) == API_WORK else 0
    share = api / working if working else 0.0
    return {"share": share, "ms": share * float(found["cpu_ms"])}


# --- tables ---------------------------------------------------------------------------------


def _x(value: float) -> str:
    return f"{value:.2f}x"


def _throughput(b: dict[str, Any]) -> list[str]:
    out = [
        "| page | clients | pages/s | sequences/s | CPU ms a page | CPU ms a sequence | "
        "CPU page/FHIR | time page/FHIR |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in b["pages"]:
        for clients, s in p["clients"].items():
            page, fhir, ratio = s["page"], s["fhir"], s["ratio"]
            out.append(
                f"| {p['name']} | {clients} | {rate(page['rps'])} | {rate(fhir['rps'])} | "
                f"{ms(page['cpu_ms'])} | {ms(fhir['cpu_ms'])} | {_x(ratio['cpu'])} | "
                f"{_x(ratio['time'])} |"
            )
    return out


def _latency(b: dict[str, Any]) -> list[str]:
    out = [
        "| page | clients | page p50 | FHIR p50 | Σ calls' p50 | p50 page/FHIR | page p99 | "
        "FHIR p99 | p99 page/FHIR |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in b["pages"]:
        for clients, s in p["clients"].items():
            page, fhir, ratio = s["page"], s["fhir"], s["ratio"]
            out.append(
                f"| {p['name']} | {clients} | {ms(page['p50_ms'])} | {ms(fhir['p50_ms'])} | "
                f"{ms(fhir['calls_p50_ms'])} | {_x(ratio['p50'])} | {ms(page['p99_ms'])} | "
                f"{ms(fhir['p99_ms'])} | {_x(ratio['p99'])} |"
            )
    return out


def _met(p: dict[str, Any]) -> bool:
    """The target on a page: CPU a page at both client counts, and p50 with one client."""
    ratios = [s["ratio"]["cpu"] for s in p["clients"].values()]
    return max(ratios) <= TARGET and p["clients"]["1"]["ratio"]["p50"] <= TARGET


def targets(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for b in results:
        for p in b["pages"]:
            one, many = p["clients"]["1"], p["clients"]["16"]
            by_round = ", ".join(_x(x["cpu"]) for x in one["paired"])
            lines.append(
                f"- {b['backend']}, {p['name']}: CPU {_x(one['ratio']['cpu'])} at 1 client "
                f"(round by round {by_round}) and {_x(many['ratio']['cpu'])} at 16; "
                f"p50 {_x(one['ratio']['p50'])} at 1 client: {verdict(_met(p))}."
            )
        met = sum(_met(p) for p in b["pages"])
        lines.append(f"- {b['backend']}: {met} of {len(b['pages'])} pages meet it.")
    return lines


API = PARTS[2][0]


def reading(saved: dict[str, Any]) -> list[str]:
    """What the figures say, per backend: how much more a page costs than its calls, and
    where a profiled page's extra time goes."""
    lines = []
    for b in saved["results"]:
        cpu = {p["name"]: p["clients"]["1"]["ratio"]["cpu"] for p in b["pages"]}
        cheapest, dearest = min(cpu, key=cpu.__getitem__), max(cpu, key=cpu.__getitem__)
        met = [p["name"] for p in b["pages"] if _met(p)]
        line = (
            f"- {b['backend']}: with one client a page costs from {_x(cpu[cheapest])} "
            f"({cheapest}) to {_x(cpu[dearest])} ({dearest}) the CPU of the FHIR calls it "
            f"makes; the target is met by {', '.join(met) if met else 'no page'}."
        )
        for found in b.get("profiles", []):
            page = next(p for p in b["pages"] if p["name"] == found["page"])
            mine, calls = (
                page["clients"]["1"]["page"]["cpu_ms"],
                page["clients"]["1"]["fhir"]["cpu_ms"],
            )
            extra = [
                f"{part.split(':')[0]} {ms(share * mine)} ms"
                for part, share in found["parts"].items()
                if part != API and share * mine >= 0.05 * mine
            ]
            api = found["parts"].get(API, 0) * mine
            line += (
                f" The {found['page']} page: the API's work for its calls {ms(api)} ms of its "
                f"{ms(mine)} ms (the calls over HTTP: {ms(calls)} ms); besides it, "
                + (", ".join(extra) or "nothing over 5% of it")
                + "."
            )
        lines.append(line)
    return lines


def _profiles(saved: dict[str, Any]) -> list[str]:
    out = []
    for b in saved["results"]:
        cpu = {p["name"]: p["clients"]["1"]["page"]["cpu_ms"] for p in b["pages"]}
        fhir = {p["name"]: p["clients"]["1"]["fhir"]["cpu_ms"] for p in b["pages"]}
        for found in b.get("profiles", []):
            name = found["page"]
            out += [
                f"{b['backend']}, {name} (one client; {found['samples']:,} working samples; "
                f"the page's {ms(cpu[name])} ms of CPU shared out by them, beside "
                f"{ms(fhir[name])} ms for its calls over HTTP; `{found['file']}`):",
                "",
                "| part of the page's work | share | ms a page |",
                "| --- | ---: | ---: |",
                *(
                    f"| {part} | {share:.0%} | {ms(share * cpu[name])} |"
                    for part, share in found["parts"].items()
                ),
                "",
                *_api_work(found),
            ]
    return out


def _api_work(found: dict[str, Any]) -> list[str]:
    """The API's work for the calls made in the page beside the same calls over HTTP, each
    profiled while one client asked for it."""
    if "api_work" not in found:
        return []
    page, fhir = found["api_work"]["page"], found["api_work"]["fhir"]
    return [
        f"The API's work for the calls (handlers, queries, audit), profiled the same way: "
        f"{ms(page['ms'])} ms a page ({page['share']:.0%} of its samples) when the page makes "
        f"them, {ms(fhir['ms'])} ms a sequence ({fhir['share']:.0%}) when they come over HTTP "
        f"(`{found['calls_file']}`).",
        "",
    ]


def _runs(b: dict[str, Any]) -> list[str]:
    out = [
        "| page | clients | side | s a round | per s, round by round | CPU ms | "
        "other load (cores) |",
        "| --- | ---: | --- | ---: | --- | --- | --- |",
    ]
    for p in b["pages"]:
        for clients, s in p["clients"].items():
            for side in ("page", "fhir"):
                runs = s["runs"][side]
                out.append(
                    f"| {p['name']} | {clients} | {side} | {runs[0]['seconds']:.0f} | "
                    + ", ".join(rate(r["rps"]) for r in runs)
                    + " | "
                    + ", ".join(ms(r["cpu_ms"]) for r in runs)
                    + " | "
                    + ", ".join(f"{r['foreign_cpu']:.2f}" for r in runs)
                    + " |"
                )
    return out


# --- the section ----------------------------------------------------------------------------


def _calls(b: dict[str, Any]) -> list[str]:
    out = []
    for p in b["pages"]:
        answers = b["answers"][p["name"]]
        calls = "; ".join(
            f"`GET {a['call'].split('?')[0]}` ({a['bytes']:,} bytes)" for a in answers
        )
        out.append(f"- **{p['name']}**, {p['label']}: {calls}.")
    for name, status in b["absent"].items():
        out.append(f"- **{name}**: not measured: the app answered {status} (not there yet).")
    return out


def _other_load(b: dict[str, Any]) -> str:
    samples = sorted(
        r["foreign_cpu"]
        for p in b["pages"]
        for s in p["clients"].values()
        for side in ("page", "fhir")
        for r in s["runs"][side]
    )
    quiet = b["quiet"]
    line = (
        f"- {b['backend']}: load average {b['load_before']:.2f} at its start; other load "
        f"during the samples median {statistics.median(samples):.2f} cores, highest "
        f"{samples[-1]:.2f}; waited {quiet['waited_s']:.0f} s for quiet, measured "
        f"{quiet['redone']} pairs again"
    )
    return line + (", then gave up waiting and measured anyway" if quiet["gave_up"] else "")


BUSY_LOAD = 0.8  # a load average at a backend's start above which the run says it was busy


def _busy(results: list[dict[str, Any]]) -> list[str]:
    busy = [b for b in results if b["load_before"] >= BUSY_LOAD or b["quiet"]["gave_up"]]
    if not busy:
        return []
    named = ", ".join(f"{b['backend']}, load average {b['load_before']:.2f}" for b in busy)
    return [
        f"**This run was on a busy machine** ({named} at its start): other work shared its "
        "two cores, and a pair of samples is measured again only when it used more than 0.3 "
        "cores, so pages/s and latencies are lower and noisier than on a quiet machine; CPU "
        "a page and a sequence, and the page/FHIR ratios of samples taken in turns, "
        "are what carry over.",
        "",
    ]


def _method(saved: dict[str, Any]) -> list[str]:
    args, b = saved["args"], saved["results"][0]
    seeded = b["seeded"]
    return [
        "Each page of the citizens' app is measured beside the FHIR calls it makes, replayed "
        "over HTTP against the same server in the same run, with the same citizen signed in. "
        "The calls are those the page's code makes for its data (`src/medsvc/web/pages/`, "
        "`web/directory.py`, `web/reads.py`), listed in `bench/app_bench.py`; the first "
        "run's, with the size of each answer:",
        "",
        *_calls(b),
        "",
        "How:",
        "",
        "- **Data** (`bench/app_seed.py`), written in-process through the FHIR layer as the "
        "platform (validated, indexed, results sealed, the booking ledger and the release "
        f"hooks run): a hospital with {len(app_seed.DEPARTMENTS)} departments (the specialty "
        "of each doctor's role there, and the service of their schedule and slots), "
        f"{len(app_seed.DOCTORS)} doctors with a role "
        f"there and a schedule each, {app_seed.SLOTS_PER_DAY} free slots a day each over the "
        f"next {app_seed.DAYS} days ({seeded['slots']:,} slots, from two hours after "
        f"seeding); a citizen with an account and {app_seed.REPORTS} lab reports (category "
        "LAB, final, issued, the hospital as performer), a week apart: the newest with "
        f"{len(app_seed.TESTS)} Observations (value, unit, reference range, interpretation), "
        f"the others with 3; glucose (LOINC {app_seed.TREND_CODE}) is in the "
        f"{app_seed.TREND_REPORTS} newest, so its trend has {app_seed.TREND_REPORTS} points. "
        "Final results are released to the patient at "
        "once under the default rules (`results/release.py`); the run checks that the "
        "citizen's calls answer all 50 reports and the report's 20 Observations, and that "
        "the pages show them.",
        "- **Server**: one uvicorn process (1 worker) serving `medsvc.app.create_app` with "
        "default settings in sign-in mode, as production runs it (`BENCH_AUTH=smart`: every "
        "token verified and checked for revocation, every access audited), without the "
        "periodic jobs (`MEDSVC_JOBS=off`, as where `medsvc worker` runs them), on a fresh "
        "database (a SQLite file, or a `medsvc_bench_*` PostgreSQL database dropped "
        "afterwards; vacuumed and analysed after seeding).",
        "- **Signed in**: the citizen signs in over HTTP as a browser does (`/app/signin`, "
        "the server's sign-in form with its hidden fields, `/app/callback`), and every page "
        "request carries the session cookie it set. The FHIR calls carry an access token "
        "for the same citizen, signed with the server's key, with the scopes the app's "
        "sign-in grants a patient (`bench/tokens.py`).",
        "- **Load**: wrk with `bench/app.lua`, one connection per wrk thread (`-t1 -c1` and "
        "`-t16 -c16`), each connection sending the page, or the page's calls in the page's "
        "order, again and again: a **sequence** of calls is done when its last call is "
        "answered. A page's rate is pages/s; its calls' rate is sequences/s; p50 and p99 are "
        "those of pages and of whole sequences, timed by the script; **Σ calls' p50** is the "
        "sum of each call's own p50 within the sequences. Any answer but 200 stops the run.",
        "- **CPU a page** is the server process's CPU time (user + system, `/proc`, all its "
        "threads) over the pages answered; **CPU a sequence** the same over the sequences. "
        "Both include the audit records written in the background, as far as they are "
        "written during the sample. **page/FHIR** is the page's figure over its calls' "
        "figure in each round, where each side is sampled twice, in the order page, calls, "
        "calls, page (the reverse in every other round), so that a drift in the machine's "
        "speed during the round weighs on both sides alike; a side's figures in a round are "
        "its two samples' together (pages and CPU added up, percentiles averaged), and the "
        "median of the rounds is shown; `time` is sequences/s over pages/s.",
        f"- {args['rounds']} round(s); in each, every page and its calls at 1 and at 16 "
        f"clients; a sample lasts half of {args['seconds']} s, or longer for slow pages (ten "
        "sequences per connection, judged from a warm-up of each page and its calls with "
        "one client, which is not recorded), up to 30 s: a sequence still unfinished at "
        "the end is not counted but its CPU is, which for the slowest pages weighs on both "
        "sides alike. Before each sample the server is let go idle; "
        "a pair (page and calls) is measured while other processes use under 0.3 cores and "
        "measured again if they used more (`bench/results_quiet.py`).",
        _pinning(saved),
        "",
    ]


def _pinning(saved: dict[str, Any]) -> str:
    cpus = saved.get("server_cpus")
    if not cpus:
        return "- The processes run wherever the scheduler puts them (not pinned)."
    return (
        f"- The medsvc process runs on CPU {', '.join(map(str, cpus))} (every thread it "
        "starts), wrk and the runner on the other CPU; on PostgreSQL, the backends serving "
        "the medsvc process are moved to its CPU once warmed up, so a query runs where its "
        "caller waits for it."
    )


def render(saved: dict[str, Any]) -> str:
    mach, results = saved["machine"], saved["results"]
    out = [
        START,
        "## The app's pages",
        "",
        "Written by `bench/app_bench.py` (`make bench-app`) between the `app-bench` markers, "
        "which `make bench` keeps; do not edit by hand. Generated "
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
        *(
            f"- {b['backend']}: {b['version']}; seeded in {b['seed_seconds']:.0f} s"
            for b in results
        ),
        "",
        "The machine's speed varies, so CPU per page and per sequence, and their ratio, carry "
        "over better than pages/s. Load outside the benchmark:",
        "",
        *(_other_load(b) for b in results),
        "",
        *_busy(results),
    ]
    for b in results:
        out += [
            f"### {b['backend']}",
            "",
            *_throughput(b),
            "",
            "Latency (ms):",
            "",
            *_latency(b),
            "",
        ]
    out += ["### Reading the numbers", "", *reading(saved), ""]
    out += [
        f"### Target: a page costs at most {TARGET}x the FHIR calls it makes",
        "",
        "Judged on CPU a page over CPU a sequence at 1 and at 16 clients, and on p50 with one "
        "client (where no queue adds to it), each the median of the rounds' ratios:",
        "",
        *targets(results),
        "",
    ]
    profiled = _profiles(saved)
    if profiled:
        out += [
            "### Where a page's time goes",
            "",
            "py-spy (`py-spy record --nonblocking --format raw`, 250 samples/s) on the server "
            "while one client asks for the page, after the rounds. Samples of threads "
            "waiting (the event loop idle in uvloop, workers waiting for work) are left out; "
            "each working sample counts for the first part its stack belongs to, in the "
            "order of the table's parts (so a session read in a worker thread is the "
            "session's, and the rest of the worker threads' work is the API's).",
            "",
            *profiled,
        ]
    out += raw_runs(results, _runs)
    out += reproducing(
        [
            "make bench-app                                   # both backends, into this page",
            ".venv/bin/python bench/app_bench.py --quick      # smoke test, prints the section",
            ".venv/bin/python bench/app_bench.py --backend sqlite --profile doctor results",
        ],
        f"{NEEDS_WRK_AND_POSTGRES}; `--profile` needs py-spy (`make bench-app` installs it)",
        "app",
        END,
    )
    return "\n".join(out)
