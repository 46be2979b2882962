"""The subscriptions benchmark: how fast booking notifications reach a hospital's endpoint on
this machine, and how long after the booking; the results go into the marked section of
docs/benchmarks.md.

Per backend (SQLite, PostgreSQL) and per delivery poll interval (MEDSVC_SUBSCRIPTION_POLL_SECONDS,
2 s by default and 0.1 s): medsvc in its own uvicorn process on a fresh database, running its
periodic jobs in-process as the embedded default does, and a receiver in a process of its own
(subscriptions_receiver.py) that answers every notification 200 at once. The run seeds a
clinic over HTTP (Organization, Location, Practitioner, PractitionerRole, Schedule), free
Slots and Patients; then, per measured run:

- the hospital subscribes to `appointment-booked`, id-only payload, its endpoint a path of
  the receiver of its own; the run waits for the handshake and for the subscription to be
  active;
- a burst of bookings (`POST /fhir/Appointment/$book`, a free slot and a patient of its own
  each) is sent by a few concurrent clients, each timed when sent and when answered;
- the run waits until the receiver has every booking's event, and a while longer for any
  notification sent twice; then sets the subscription off.

Latency of a booking: its event's arrival at the receiver minus the arrival of its `$book`
answer at the client (the booking commits before it answers: this leaves out the answer's
way back, a fraction of a millisecond on loopback), and, as an upper bound, minus the
request's send. Throughput: the burst's events over the time from the first answer to the
last event's arrival. Each run checks that every booking's event arrived once, numbered 1..N
in order with no gap or repeat, and lists anything else it found.

Runs are measured while the machine is otherwise quiet, and again if it was not
(results_quiet.py). The section shows medians of the runs.

Also the uvicorn factory of the medsvc process (`subscriptions_bench:create`).
"""

import argparse
import itertools
import json
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import booking_bench
import httpx
import medsvc_launcher
import pinned_run
import subscriptions_report
from fastapi import FastAPI, Request
from results_quiet import Quiet
from servers import BENCH_DIR, Server, free_port, postgres_version, vacuum_analyze
from subscriptions_receiver import ReceiverProcess

from medsvc.kit import migrate
from medsvc.security.context import OPEN_CONTEXT, AuthContext, auth_context

ROOT = BENCH_DIR.parent
ORGANIZATION_HEADER = "X-Bench-Organization"
TOPIC = "urn:medsvc:SubscriptionTopic/appointment-booked"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
CARDIOLOGY = {"coding": [{"system": "http://snomed.info/sct", "code": "394579002"}]}
FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
SEED_BATCH = 200  # resources per seeding transaction
SLOT_MINUTES = 20
MAX_EVENTS_PER_POST = 100  # the channel's backport-max-count, the service's default and most
KINDS = ("handshake", "event-notification")  # what a clean run's receiver is sent


# --- the medsvc process ---------------------------------------------------------------------


async def _hospital_or_platform(request: Request) -> AuthContext:
    """A request naming an organization acts as that hospital's system (backend services,
    system/*.cruds), as a hospital's subscription needs; any other acts as the platform."""
    organization = request.headers.get(ORGANIZATION_HEADER)
    if not organization:
        return OPEN_CONTEXT
    return AuthContext(
        subject="hospital-system",
        client_id="hospital-system",
        organization=organization,
        scopes=frozenset({"system/*.cruds"}),
    )


def create() -> FastAPI:
    """The uvicorn factory: medsvc as medsvc_launcher serves it (open mode, so bookings run
    exactly as `make bench` measures them), with a caller able to act as a hospital."""
    app = medsvc_launcher.create()
    app.dependency_overrides[auth_context] = _hospital_or_platform
    return app


def server_env(url: str, port: int, keys: Path, poll: float) -> dict[str, str]:
    return {
        **booking_bench.medsvc_env(url, port),
        "MEDSVC_KEYS_DIR": str(keys),
        "MEDSVC_SUBSCRIPTION_HTTP_HOSTS": "127.0.0.1",  # the receiver, over plain http
        "MEDSVC_SUBSCRIPTION_POLL_SECONDS": str(poll),
    }


# --- seeding --------------------------------------------------------------------------------


def _post_entry(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {"fullUrl": full_url, **entry} if full_url else entry


def _transaction(http: httpx.Client, entries: list[dict[str, Any]]) -> list[str]:
    """Runs a transaction as the platform; returns the created ids in entry order."""
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = http.post("/fhir", content=json.dumps(body), headers=FHIR_JSON)
    if response.status_code != 200:
        raise RuntimeError(f"seeding: {response.status_code} {response.text[:1000]}")
    return [e["response"]["location"].split("/")[-3] for e in response.json()["entry"]]


@dataclass(frozen=True)
class Clinic:
    organization: str
    schedule: str


def open_clinic(http: httpx.Client) -> Clinic:
    """A hospital with one outpatient location and one doctor's cardiology schedule, as
    tests/scheduling/clinic.py opens it."""
    created = _transaction(
        http,
        [
            _post_entry({"resourceType": "Organization", "name": "Bench Hospital"}, "urn:uuid:o"),
            _post_entry(
                {
                    "resourceType": "Location",
                    "name": "Bench Hospital outpatients",
                    "managingOrganization": {"reference": "urn:uuid:o"},
                },
                "urn:uuid:l",
            ),
            _post_entry(
                {
                    "resourceType": "Practitioner",
                    "identifier": [{"system": "urn:city:practitioner", "value": "bench-dr"}],
                    "name": [{"family": "Korhonen", "given": ["Mikko"]}],
                },
                "urn:uuid:p",
            ),
            _post_entry(
                {
                    "resourceType": "PractitionerRole",
                    "practitioner": {"reference": "urn:uuid:p"},
                    "organization": {"reference": "urn:uuid:o"},
                }
            ),
            _post_entry(
                {
                    "resourceType": "Schedule",
                    "active": True,
                    "actor": [{"reference": "urn:uuid:p"}, {"reference": "urn:uuid:l"}],
                    "serviceType": [CARDIOLOGY],
                }
            ),
        ],
    )
    return Clinic(organization=created[0], schedule=created[4])


def _instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Pool:
    """Free Slots of the clinic's schedule, consecutive from three days ahead, and Patients:
    one of each for every booking, made as they are needed."""

    def __init__(self, http: httpx.Client, clinic: Clinic):
        self.http, self.clinic = http, clinic
        self.free: list[tuple[str, str]] = []
        self.made = 0
        self.first = (datetime.now(UTC) + timedelta(days=3)).replace(
            minute=0, second=0, microsecond=0
        )

    def _slot(self, n: int) -> dict[str, Any]:
        start = self.first + timedelta(minutes=SLOT_MINUTES * n)
        return {
            "resourceType": "Slot",
            "schedule": {"reference": f"Schedule/{self.clinic.schedule}"},
            "status": "free",
            "serviceType": [CARDIOLOGY],
            "start": _instant(start),
            "end": _instant(start + timedelta(minutes=SLOT_MINUTES)),
        }

    @staticmethod
    def _patient(n: int) -> dict[str, Any]:
        return {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:medsvc:bench:patient", "value": f"s-{n}"}],
            "name": [{"family": "Virtanen", "given": ["Aino"]}],
        }

    def fill(self, count: int) -> None:
        while len(self.free) < count:
            batch = range(self.made, self.made + SEED_BATCH)
            slots = _transaction(self.http, [_post_entry(self._slot(n)) for n in batch])
            patients = _transaction(self.http, [_post_entry(self._patient(n)) for n in batch])
            self.free += zip(slots, patients, strict=True)
            self.made += SEED_BATCH

    def take(self, count: int) -> list[tuple[str, str]]:
        self.fill(count)
        taken, self.free = self.free[:count], self.free[count:]
        return taken


# --- the hospital's subscription ------------------------------------------------------------


def subscription(endpoint: str) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Bookings at our sites",
        "criteria": TOPIC,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {
                "extension": [
                    {"url": BACKPORT + "backport-payload-content", "valueCode": "id-only"}
                ]
            },
            "extension": [
                {"url": BACKPORT + "backport-max-count", "valueUnsignedInt": MAX_EVENTS_PER_POST}
            ],
        },
    }


def hospital_client(server: Server, clinic: Clinic) -> httpx.Client:
    return httpx.Client(
        base_url=server.url + "/fhir",
        timeout=60,
        headers={ORGANIZATION_HEADER: f"Organization/{clinic.organization}", **FHIR_JSON},
    )


def subscribe(hospital: httpx.Client, endpoint: str) -> str:
    response = hospital.post("/Subscription", content=json.dumps(subscription(endpoint)))
    if response.status_code != 201:
        raise RuntimeError(f"subscribing: {response.status_code} {response.text[:1000]}")
    return str(response.json()["id"])


def wait_active(hospital: httpx.Client, subscription_id: str, limit: float) -> None:
    """Until the handshake was answered and the service has set the subscription active."""
    deadline = time.monotonic() + limit
    while hospital.get(f"/Subscription/{subscription_id}").json()["status"] != "active":
        if time.monotonic() > deadline:
            raise RuntimeError(f"subscription {subscription_id} not active after {limit:.0f} s")
        time.sleep(0.02)


def switch_off(hospital: httpx.Client, subscription_id: str) -> None:
    current = hospital.get(f"/Subscription/{subscription_id}").json()
    response = hospital.put(
        f"/Subscription/{subscription_id}", content=json.dumps({**current, "status": "off"})
    )
    if response.status_code != 200:
        raise RuntimeError(f"switching off: {response.status_code} {response.text[:1000]}")


def events_recorded(hospital: httpx.Client, subscription_id: str) -> int:
    """The subscription's latest event number, as $status tells the hospital."""
    found = hospital.get(f"/Subscription/{subscription_id}/$status").json()
    return int(found["entry"][0]["resource"].get("eventsSinceSubscriptionStart") or 0)


# --- the burst of bookings ------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    appointment: str  # "Appointment/<id>"
    sent: float  # time.monotonic()
    answered: float


def _book(http: httpx.Client, slot: str, patient: str) -> Booking:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "slot", "valueString": f"Slot/{slot}"},
            {"name": "patient-id", "valueString": f"Patient/{patient}"},
        ],
    }
    sent = time.monotonic()
    response = http.post("/fhir/Appointment/$book", content=json.dumps(body), headers=FHIR_JSON)
    answered = time.monotonic()
    if response.status_code != 200:
        raise RuntimeError(f"a booking was refused: {response.status_code} {response.text[:1000]}")
    appointment = response.json()["entry"][0]["resource"]
    if appointment.get("status") != "booked":
        raise RuntimeError(f"a booking answered status {appointment.get('status')}")
    return Booking(f"Appointment/{appointment['id']}", sent, answered)


def burst(server: Server, pairs: list[tuple[str, str]], clients: int) -> list[Booking]:
    """Books every (slot, patient) from `clients` threads, each with a keep-alive connection;
    the bookings in the order they were answered."""
    pending = iter(pairs)
    lock = threading.Lock()
    done: list[Booking] = []
    failures: list[BaseException] = []

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while not failures:
                with lock:
                    pair = next(pending, None)
                if pair is None:
                    return
                try:
                    booking = _book(http, *pair)
                except Exception as error:  # the runner raises it again
                    failures.append(error)
                    return
                with lock:
                    done.append(booking)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"the burst failed: {failures[0]}") from failures[0]
    return sorted(done, key=lambda b: b.answered)


# --- one measured run -----------------------------------------------------------------------


@dataclass
class Setting:
    """What the runs of one poll interval share."""

    backend: str
    poll: float
    server: Server
    hospital: httpx.Client
    receiver: ReceiverProcess
    pool: Pool
    clients: int
    switched_off: dict[str, int] = field(default_factory=dict)  # path -> notifications by then
    # Each attempt at a run has a path of its own: a run measured again starts clean.
    attempts: Iterator[int] = field(default_factory=itertools.count)


def wait_for_events(receiver: ReceiverProcess, path: str, count: int, limit: float) -> bool:
    deadline = time.monotonic() + limit
    while receiver.count(path)["events"] < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def delivery_limit(poll: float, count: int) -> float:
    """How long a burst's events may take to arrive after its last booking: a poll per
    notification of the most events, with a generous margin for a busy machine."""
    return 30 + 2 * poll * math.ceil(count / MAX_EVENTS_PER_POST)


def run_burst(setting: Setting, label: str, count: int) -> dict[str, Any]:
    """Subscribes, books `count`, waits for their events, switches the subscription off;
    returns the figures and what the checks found."""
    path = f"/notify/{setting.backend}/{setting.poll:g}/{label}/{next(setting.attempts)}"
    subscribed_at = time.monotonic()
    subscription_id = subscribe(setting.hospital, setting.receiver.endpoint(path))
    wait_active(setting.hospital, subscription_id, 30 + 3 * setting.poll)
    pairs = setting.pool.take(count)
    bookings = burst(setting.server, pairs, setting.clients)
    complete = wait_for_events(setting.receiver, path, count, delivery_limit(setting.poll, count))
    time.sleep(max(1.0, 2 * setting.poll))  # time for a notification sent twice to show
    records = setting.receiver.received(path)
    recorded = events_recorded(setting.hospital, subscription_id)
    switch_off(setting.hospital, subscription_id)
    setting.switched_off[path] = len(setting.receiver.received(path))
    sample = figures(bookings, records)
    sample["handshake_s"] = _handshake_after(records, subscribed_at)
    sample["irregular"] = irregularities(bookings, records, recorded, complete)
    sample["path"] = path
    return sample


def _handshake_after(records: list[dict[str, Any]], subscribed_at: float) -> float | None:
    handshakes = [r["at"] for r in records if r["kind"] == "handshake"]
    return handshakes[0] - subscribed_at if handshakes else None


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _latency(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    if not ms:
        return {"p50_ms": math.nan, "p99_ms": math.nan, "max_ms": math.nan}
    return {"p50_ms": percentile(ms, 0.5), "p99_ms": percentile(ms, 0.99), "max_ms": max(ms)}


def _first_arrivals(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each focus's first arrival: the receipt a booking's latency is measured to."""
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        if record["kind"] != "event-notification":
            continue
        for focus, stamp in zip(record["foci"], record["event_times"], strict=True):
            if focus and focus not in first:
                first[focus] = {"at": record["at"], "wall": record["wall"], "stamp": stamp}
    return first


def _seconds_after_stamp(arrival: dict[str, Any]) -> float:
    stamp = datetime.fromisoformat(arrival["stamp"].replace("Z", "+00:00"))
    return float(arrival["wall"] - stamp.timestamp())


def figures(bookings: list[Booking], records: list[dict[str, Any]]) -> dict[str, Any]:
    first = _first_arrivals(records)
    delivered = [(b, first[b.appointment]) for b in bookings if b.appointment in first]
    posts = [r for r in records if r["kind"] == "event-notification"]
    per_post = [len(r["numbers"]) for r in posts]
    first_answer = min(b.answered for b in bookings)
    first_sent = min(b.sent for b in bookings)
    last_answer = max(b.answered for b in bookings)
    last_receipt = max((a["at"] for _b, a in delivered), default=math.nan)
    return {
        "events": len(bookings),
        "delivered": len(delivered),
        "booking_rate": len(bookings) / (last_answer - first_sent),
        "rate": len(delivered) / (last_receipt - first_answer),
        "burst_s": last_answer - first_sent,
        "drain_s": last_receipt - last_answer,
        "posts": len(posts),
        "per_post_mean": statistics.mean(per_post) if per_post else 0.0,
        "per_post_max": max(per_post, default=0),
        **_latency([a["at"] - b.answered for b, a in delivered]),
        "from_send": _latency([a["at"] - b.sent for b, a in delivered]),
        "from_event_stamp": _latency([_seconds_after_stamp(a) for _b, a in delivered]),
        "booking_ms": _latency([b.answered - b.sent for b in bookings]),
    }


def irregularities(
    bookings: list[Booking], records: list[dict[str, Any]], recorded: int, complete: bool
) -> list[str]:
    """What differs from a clean run: one handshake, then each booking's event once, numbered
    1..N in order, every notification signed, and N events recorded."""
    found = []
    count = len(bookings)
    kinds = Counter(r["kind"] for r in records)
    if kinds["handshake"] != 1:
        found.append(f"{kinds['handshake']} handshakes")
    found += [f"{n} {kind} notification(s)" for kind, n in kinds.items() if kind not in KINDS]
    numbers = [n for r in records if r["kind"] == "event-notification" for n in r["numbers"]]
    found += _number_irregularities(numbers, count)
    found += _focus_irregularities(bookings, records)
    unsigned = sum(1 for r in records if not r["signed"])
    if unsigned:
        found.append(f"{unsigned} notification(s) without a signature")
    behind = [r for r in records if r["numbers"] and r["since_start"] < max(r["numbers"])]
    if behind:
        found.append(f"{len(behind)} notification(s) whose eventsSinceSubscriptionStart is low")
    if recorded != count:
        found.append(f"$status tells {recorded} events for {count} bookings")
    if not complete:
        found.append("not every event arrived within the time allowed")
    return found


def _number_irregularities(numbers: list[int], count: int) -> list[str]:
    if numbers == list(range(1, count + 1)):
        return []
    seen = Counter(numbers)
    found = []
    repeated = sorted(n for n, times in seen.items() if times > 1)
    if repeated:
        found.append(f"event numbers sent more than once: {_some(repeated)}")
    missing = sorted(set(range(1, count + 1)) - set(seen))
    if missing:
        found.append(f"event numbers never sent: {_some(missing)}")
    beyond = sorted(n for n in seen if not 1 <= n <= count)
    if beyond:
        found.append(f"event numbers beyond 1..{count}: {_some(beyond)}")
    backwards = sum(1 for a, b in itertools.pairwise(numbers) if b <= a)
    if backwards:
        found.append(f"{backwards} time(s) an event number did not follow the one before")
    return found


def _focus_irregularities(bookings: list[Booking], records: list[dict[str, Any]]) -> list[str]:
    booked = {b.appointment for b in bookings}
    by_number: dict[int, set[str | None]] = {}
    for record in records:
        for number, focus in zip(record["numbers"], record["foci"], strict=True):
            by_number.setdefault(number, set()).add(focus)
    found = []
    foci = Counter(f for fs in by_number.values() for f in fs)
    if None in foci:
        found.append(f"{foci.pop(None)} event(s) without a focus")
    twice = sorted(f for f, n in foci.items() if n > 1)
    if twice:
        found.append(f"appointments under two event numbers: {_some(twice)}")
    unknown = sorted(set(foci) - booked)
    if unknown:
        found.append(f"events of appointments not booked in the run: {_some(unknown)}")
    changed = sorted(n for n, fs in by_number.items() if len(fs) > 1)
    if changed:
        found.append(f"event numbers sent again with another focus: {_some(changed)}")
    unseen = len(booked - set(foci))
    if unseen:
        found.append(f"{unseen} booking(s) whose event never arrived")
    return found


def _some(values: list[Any]) -> str:
    shown = ", ".join(map(str, values[:10]))
    return shown + (f" … ({len(values)} in all)" if len(values) > 10 else "")


# --- the runs of a backend ------------------------------------------------------------------


def _print(backend: str, poll: float, n: int, s: dict[str, Any]) -> None:
    print(
        f"  {backend} poll {poll:g} s, run {n + 1}: {s['delivered']}/{s['events']} events, "
        f"{s['rate']:.1f} notifications/s (booked at {s['booking_rate']:.1f}/s), "
        f"{s['posts']} POSTs ({s['per_post_mean']:.1f} events each), latency p50 "
        f"{s['p50_ms']:.0f} p99 {s['p99_ms']:.0f} max {s['max_ms']:.0f} ms, drain "
        f"{s['drain_s']:.2f} s, other load {s['foreign_cpu']:.2f} cores",
        flush=True,
    )
    for line in s["irregular"]:
        print(f"    IRREGULAR: {line}", flush=True)


@contextmanager
def medsvc(
    backend: str, poll: float, scratch: Path, cpus: set[int] | None
) -> Iterator[tuple[str, Server]]:
    """A fresh migrated database and medsvc serving it with this poll interval."""
    label = f"poll-{poll:g}"
    with booking_bench.scratch_database(backend, scratch, label) as url:
        migrate.upgrade(url)
        port = free_port()
        env = server_env(url, port, scratch / f"keys-{label}", poll)
        server = Server(
            f"medsvc-{label}", "subscriptions_bench:create", env, 1, scratch, port, cpus=cpus
        )
        with server:
            yield url, server


def poll_runs(
    backend: str,
    poll: float,
    scratch: Path,
    receiver: ReceiverProcess,
    args: argparse.Namespace,
) -> dict[str, Any]:
    with medsvc(backend, poll, scratch, args.server_cpus) as (url, server):
        with httpx.Client(base_url=server.url, timeout=120) as platform:
            clinic = open_clinic(platform)
            pool = Pool(platform, clinic)
            pool.fill(args.warmup + args.runs * args.events + args.events)  # one run to spare
            if backend == "postgresql":
                vacuum_analyze(url)
            with hospital_client(server, clinic) as hospital:
                setting = Setting(backend, poll, server, hospital, receiver, pool, args.clients)
                run_burst(setting, "warm-up", args.warmup)  # not recorded
                runs, quiet = measured_runs(setting, url, args)
                late = _late_notifications(setting)
        version = postgres_version(url) if backend == "postgresql" else sqlite3.sqlite_version
        logged = server_log(server.log_path, poll)
    return {
        "poll": poll,
        "runs": runs,
        "quiet": quiet,
        "irregular": late + logged["refused"],
        "skipped_runs": logged["skipped"],
        "version": version,
    }


def server_log(path: Path, poll: float) -> dict[str, Any]:
    """What medsvc logged that bears on delivery: sends the endpoint refused (none in a clean
    run), and runs of the delivery job that APScheduler skipped because the run before had
    not ended (it names the job by its function and interval, hence the interval here)."""
    lines = path.read_text(errors="replace").splitlines()
    refused = [line for line in lines if "notification refused" in line]
    interval = f"interval[{timedelta(seconds=poll)}]"
    skipped = sum(1 for line in lines if "skipped: maximum number" in line and interval in line)
    return {"refused": [f"medsvc logged: {line[:300]}" for line in refused], "skipped": skipped}


def measured_runs(
    setting: Setting, url: str, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The runs, each measured while the machine is otherwise quiet, and how that went."""
    databases = (url.rsplit("/", 1)[1],) if url.startswith("postgresql") else ()
    quiet = Quiet(args.max_wait, databases)
    runs = []
    for n in range(args.runs):

        def one(n: int = n) -> dict[str, dict[str, Any]]:
            return {"run": quiet.measure(run_burst, setting, f"run-{n + 1}", args.events)}

        sample = quiet.pair(one)["run"]
        _print(setting.backend, setting.poll, n, sample)
        runs.append(sample)
    return runs, quiet.facts()


def _late_notifications(setting: Setting) -> list[str]:
    """Notifications that arrived for a subscription after it was switched off."""
    late = []
    for path, had in setting.switched_off.items():
        now = len(setting.receiver.received(path))
        if now != had:
            late.append(f"{path}: {now - had} notification(s) after the subscription was off")
    return late


SUMMARY_KEYS = ("rate", "booking_rate", "posts", "per_post_mean", "p50_ms", "p99_ms", "drain_s")


def summary(poll: dict[str, Any]) -> dict[str, Any]:
    """Medians of the runs; the highest latency of any run."""
    runs = poll["runs"]
    medians = {k: statistics.median(float(r[k]) for r in runs) for k in SUMMARY_KEYS}
    return {
        **medians,
        "max_ms": max(r["max_ms"] for r in runs),
        "per_post_max": max(r["per_post_max"] for r in runs),
        "from_send_p50_ms": statistics.median(r["from_send"]["p50_ms"] for r in runs),
        "from_send_p99_ms": statistics.median(r["from_send"]["p99_ms"] for r in runs),
        "foreign_cpu": statistics.median(r["foreign_cpu"] for r in runs),
        "irregular": [line for r in runs for line in r["irregular"]] + poll["irregular"],
    }


def backend_run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{backend}: load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="medsvc-subscriptions-") as tmp:
        scratch = Path(tmp)
        with ReceiverProcess(free_port(), scratch / "receiver.log") as receiver:
            polls = [poll_runs(backend, poll, scratch, receiver, args) for poll in args.polls]
    for poll in polls:
        poll["summary"] = summary(poll)
    return {"backend": backend, "version": polls[0]["version"], "polls": polls}


# --- the command ----------------------------------------------------------------------------


def _polls(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs; medians are kept")
    parser.add_argument("--events", type=int, default=400, help="bookings per run")
    parser.add_argument("--warmup", type=int, default=40, help="bookings before the runs")
    parser.add_argument("--clients", type=int, default=4, help="concurrent booking clients")
    parser.add_argument(
        "--polls",
        type=_polls,
        default=[2.0, 0.1],
        help="delivery poll intervals in seconds, comma-separated (default 2,0.1)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=None,
        help="seconds in all a poll interval's runs may wait for the machine to be quiet "
        "(other load under 0.3 cores) before measuring anyway (default 1800; --quick: 0)",
    )
    pinned_run.add_run_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.events, args.warmup = 1, 200, 10
    if args.max_wait is None:
        args.max_wait = 0.0 if args.quick else 1800.0
    return args


def main() -> int:
    args = parse_args()
    output = args.output or ROOT / "docs" / "benchmarks.md"
    if args.render:
        saved = json.loads(args.render.read_text())
        subscriptions_report.write_section(output, subscriptions_report.render(saved))
        print(f"wrote the subscriptions section of {output}")
        return 0
    return pinned_run.run_and_report(
        args,
        "subscriptions",
        backend_run,
        subscriptions_report.render,
        subscriptions_report.write_section,
        output,
    )


if __name__ == "__main__":
    sys.exit(main())
