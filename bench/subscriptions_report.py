"""The subscriptions benchmark's section of docs/benchmarks.md: notifications/s to a local
receiver and the latency from a booking's commit to its event's receipt, per backend and
delivery poll interval, how it was measured, and anything irregular the runs found; written
between its own markers, leaving the rest of the page as it is."""

from pathlib import Path
from typing import Any

from page import ms, rate, raw_runs, reproducing, write_marked

START, END = "<!-- subscriptions-bench:start -->", "<!-- subscriptions-bench:end -->"
MAX_PER_POST = 100  # events per notification: the benchmark's channel asks for the most


def write_section(page: Path, section: str) -> None:
    write_marked(page, section, START, END)


def _poll(seconds: float) -> str:
    return f"{seconds:g} s"


def _table(b: dict[str, Any]) -> list[str]:
    out = [
        "| poll interval | events per run | bookings/s | notifications/s | POSTs per run | "
        "events per POST (mean; most) | latency p50 ms | p99 ms | max ms | from send p50 / "
        "p99 ms | last event after the last booking |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for poll in b["polls"]:
        s = poll["summary"]
        events = poll["runs"][0]["events"]
        out.append(
            f"| {_poll(poll['poll'])} | {events} | {rate(s['booking_rate'])} | "
            f"**{rate(s['rate'])}** | {s['posts']:.0f} | {s['per_post_mean']:.1f}; "
            f"{s['per_post_max']} | **{ms(s['p50_ms'])}** | **{ms(s['p99_ms'])}** | "
            f"{ms(s['max_ms'])} | {ms(s['from_send_p50_ms'])} / {ms(s['from_send_p99_ms'])} "
            f"| {s['drain_s']:.2f} s |"
        )
    return out


def _runs(b: dict[str, Any]) -> list[str]:
    out = [
        "| poll interval | run | notifications/s | bookings/s | POSTs | latency p50 / p99 / "
        "max ms | from the event's timestamp p50 / p99 ms | $book p50 / p99 ms | handshake "
        "after | other load |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for poll in b["polls"]:
        for n, r in enumerate(poll["runs"]):
            stamp, book = r["from_event_stamp"], r["booking_ms"]
            handshake = r["handshake_s"]
            out.append(
                f"| {_poll(poll['poll'])} | {n + 1} | {rate(r['rate'])} | "
                f"{rate(r['booking_rate'])} | {r['posts']} | {ms(r['p50_ms'])} / "
                f"{ms(r['p99_ms'])} / {ms(r['max_ms'])} | {ms(stamp['p50_ms'])} / "
                f"{ms(stamp['p99_ms'])} | {ms(book['p50_ms'])} / {ms(book['p99_ms'])} | "
                f"{'-' if handshake is None else f'{handshake:.2f} s'} | "
                f"{r['foreign_cpu']:.2f} cores |"
            )
    return out


def _irregularities(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for b in results:
        for poll in b["polls"]:
            for line in poll["summary"]["irregular"]:
                lines.append(f"- {b['backend']}, poll {_poll(poll['poll'])}: {line}")
    if lines:
        return lines
    return [
        "None: in every run each booking's event arrived exactly once, the numbers 1..N in "
        "order with no gap or repeat, each notification signed, after one handshake and no "
        "other notification; `$status` told N events, and no subscription was sent anything "
        "after it was switched off."
    ]


def _quiet(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for b in results:
        for poll in b["polls"]:
            q = poll["quiet"]
            loads = sorted(r["foreign_cpu"] for r in poll["runs"])
            line = (
                f"- {b['backend']}, poll {_poll(poll['poll'])}: median {loads[len(loads) // 2]:.2f}"
                f" cores, highest {loads[-1]:.2f}; waited {q['waited_s']:.0f} s in all for a "
                f"quiet machine, {q['redone']} run(s) measured again"
            )
            if q["gave_up"]:
                line += "; the wait gave up, so some runs were measured on a busy machine"
            lines.append(line)
    return lines


def _observations(results: list[dict[str, Any]]) -> list[str]:
    """What the figures show of how delivery kept up, read from them."""
    lines = []
    for b in results:
        for poll in b["polls"]:
            s, where = poll["summary"], f"{b['backend']}, poll {_poll(poll['poll'])}"
            capped = MAX_PER_POST / poll["poll"] <= s["booking_rate"]
            if s["per_post_max"] >= MAX_PER_POST and capped:
                lines.append(
                    f"- {where}: notifications carried the most events one may "
                    f"({MAX_PER_POST}) while more were waiting. The job sends a subscription one "
                    "notification per run and runs again only after the interval, so delivery "
                    f"was held to {MAX_PER_POST} events per interval "
                    f"({MAX_PER_POST / poll['poll']:,.0f}/s at most) against bookings at "
                    f"{rate(s['booking_rate'])}/s; the last event arrived {s['drain_s']:.2f} s "
                    "after the last booking."
                )
            if poll.get("skipped_runs"):
                lines.append(
                    f"- {where}: over the warm-up and the runs, medsvc logged "
                    f"{poll['skipped_runs']} run(s) of the delivery job skipped by APScheduler "
                    "because the run before had not ended: a run "
                    "(lease, notification, signature, send, record) took longer than the "
                    "interval, so the interval did not bound the latency: "
                    f"{s['posts']:.0f} POSTs per run, up to {s['per_post_max']} events each."
                )
    return lines or ["- Delivery kept up with the bookings in every run."]


def _pinning(saved: dict[str, Any]) -> str:
    cpus = saved.get("server_cpus")
    if not cpus:
        return "- The processes run wherever the scheduler puts them (not pinned)."
    return (
        f"- medsvc is pinned to CPU {', '.join(map(str, cpus))} (with every thread it starts: "
        "the request threads and the delivery job alike), the runner and the receiver to the "
        "other CPUs; PostgreSQL runs where the scheduler puts it."
    )


def _method(saved: dict[str, Any]) -> list[str]:
    args = saved["args"]
    polls = " and ".join(_poll(p) for p in args["polls"])
    return [
        "A hospital subscribes to `urn:medsvc:SubscriptionTopic/appointment-booked` (rest-hook, "
        "`id-only` payload, at most 100 events per notification, the default) with an endpoint "
        "on this machine; bookings at its clinic are then made as fast as "
        f"{args['clients']} clients can make them, and the benchmark times each booking's "
        "event on its way to the endpoint (`bench/subscriptions_bench.py`).",
        "",
        f"- **Events**: each run books {args['events']} appointments "
        "(`POST /fhir/Appointment/$book` with a free `slot` and a `patient-id` of its own, "
        f"from {args['clients']} concurrent keep-alive clients), each one `appointment-booked` "
        "event. Every run subscribes anew (numbers count from 1), waits for the handshake "
        "and for the subscription to be `active`, books, waits until every event has "
        "arrived and a while longer (twice the poll interval, at least 1 s) for a "
        "notification sent twice, then sets the subscription `off`.",
        "- **notifications/s**: the run's events over the time from the first booking's "
        "answer to the arrival of the last event at the receiver. An event is one booking "
        "told to the hospital; the service sends them in POSTs of up to 100 (**events per "
        "POST**). **bookings/s** is the rate the bookings were made at, from the first "
        "request sent to the last answer: when notifications/s is lower, delivery fell "
        "behind the bookings, and **last event after the last booking** is how far.",
        "- **Latency** of a booking: its event's arrival at the receiver minus the arrival of "
        "its `$book` answer at the client. The booking commits before medsvc answers, so this "
        "leaves out the answer's way back to the client (the time from the commit to the "
        "answer's arrival, a fraction of a millisecond on loopback besides any wait for the "
        "client's thread): it slightly under-counts. **from send** measures from the "
        "request's send instead, an upper bound that counts the whole booking. The raw runs "
        "also give it against the event's own timestamp, which the service takes in the "
        "booking's transaction before it commits, on the wall clock.",
        "- **Poll interval**: the `deliver-notifications` job runs every "
        "`MEDSVC_SUBSCRIPTION_POLL_SECONDS`; each run sends every due subscription its "
        "notifications (up to 100 events each) until none is due: an event waits for the "
        "next run, half the interval on average, plus the run's turn at the database, whose "
        "writes on SQLite share one writer with the bookings. Measured with "
        f"{polls}; 2 s is the default.",
        "- **Checked in every run**: one handshake; the event numbers received, in arrival "
        "order, are exactly 1..N (no gap, no repeat: delivery is at least once, and repeats "
        "only after a failed send, which a clean run has none of); each booked appointment is "
        "the focus of exactly one event and no other focus appears; every notification "
        "carries its signature header; `eventsSinceSubscriptionStart` is never below a "
        "notification's numbers; `$status` tells N events; nothing arrives for a subscription "
        "after it is switched off. What differs is listed under Irregularities.",
        "",
        "How:",
        "",
        "- medsvc is `medsvc.app.create_app` in its own uvicorn process (1 worker) with "
        "default settings, its periodic jobs in-process as the embedded default runs them, on a "
        "fresh migrated database per poll interval (a SQLite file in a temporary directory, or "
        "a dedicated `medsvc_bench_*` PostgreSQL database dropped afterwards), with "
        "`MEDSVC_SUBSCRIPTION_HTTP_HOSTS=127.0.0.1` so the receiver may be plain http, and a "
        "key directory of its own (the notification signing key). Callers act as the platform "
        "in open mode, as `make bench` serves it (`bench/medsvc_launcher.py`); a request with "
        "the header `X-Bench-Organization` acts as that hospital's system "
        "(`system/*.cruds`), as creating a subscription requires.",
        "- The receiver (`bench/subscriptions_receiver.py`) is a threading HTTP server on "
        "127.0.0.1 in a process of its own, answering 200 at once with keep-alive; it takes "
        "the arrival time when it has read the body, on `time.monotonic()` "
        "(CLOCK_MONOTONIC, the same clock in every process), the clock the booking clients "
        "are timed on.",
        "- Seeded over HTTP as the platform: a clinic (Organization, Location, Practitioner, "
        "PractitionerRole, a cardiology Schedule, as `tests/scheduling/clinic.py` opens it), "
        "consecutive 20-minute free Slots from three days ahead, and one Patient per booking. "
        f"A warm-up burst of {args['warmup']} bookings with its own subscription runs first "
        "and is not recorded.",
        _pinning(saved),
        "- Quiet machine: the CPU that processes outside the benchmark use is measured over "
        "every run (the machine's busy time less that of the runner, its receiver, medsvc and "
        "the PostgreSQL processes serving its database); a run waits until that is under 0.3 "
        "cores and is measured again if it exceeded it (`bench/results_quiet.py`).",
        f"- {args['runs']} run(s) per poll interval; the table shows medians of the runs, "
        "except **max**, the highest of any run, and **most** events in one POST.",
        "",
    ]


def render(saved: dict[str, Any]) -> str:
    mach, results = saved["machine"], saved["results"]
    out = [
        START,
        "## Subscription notifications: throughput and latency",
        "",
        "Written by `bench/subscriptions_bench.py` (`make bench-subscriptions`) between the "
        "`subscriptions-bench` markers; do not edit by hand. Generated "
        f"{saved['when']} at commit {saved['code']}; the whole run took "
        f"{saved['elapsed'] / 60:.1f} minutes.",
        "",
        "### What is measured, and how",
        "",
        *_method(saved),
        "### Machine",
        "",
        f"- {mach['cores']} cores, {mach['cpu']}, {mach['memory']} RAM, Linux {mach['kernel']}",
        f"- Python {mach['python']}, {mach['versions']}",
        *(f"- {b['backend']}: {b['version']}" for b in results),
        "",
        "medsvc, the booking clients, the receiver and the database server share the cores. "
        "CPU used by processes outside the benchmark during the runs:",
        "",
        *_quiet(results),
        "",
    ]
    for b in results:
        out += [f"### {b['backend']}", "", *_table(b), ""]
    out += ["### How delivery kept up", "", *_observations(results), ""]
    out += ["### Irregularities", "", *_irregularities(results), ""]
    out += raw_runs(results, _runs)
    out += reproducing(
        [
            "make bench-subscriptions                                  # both backends",
            ".venv/bin/python bench/subscriptions_bench.py --quick     # smoke test, prints it",
            ".venv/bin/python bench/subscriptions_bench.py --backend sqlite --runs 3 --polls 2,0.1",
        ],
        "For PostgreSQL, needs a server at 127.0.0.1:5432 (user `postgres`, trust; "
        "`MEDSVC_BENCH_POSTGRES_URL` points elsewhere)",
        "subscriptions",
        END,
    )
    return "\n".join(out)
