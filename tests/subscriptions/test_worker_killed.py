"""A worker killed (SIGKILL) while it sends loses nothing: its lease runs out, and the next
worker sends the same events again, then the rest, in order."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import KEYS, Backend
from tests.scheduling.clinic import add_slots
from tests.subscriptions.conftest import Hospital
from tests.subscriptions.receiver import Receiver
from tests.subscriptions.test_delivery import Deliver, active


def worker(backend: Backend, cwd: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MEDSVC_DATABASE_URL": backend.url,
        "MEDSVC_KEYS_DIR": KEYS.name,
        "MEDSVC_SUBSCRIPTION_HTTP_HOSTS": "127.0.0.1",
        "MEDSVC_SUBSCRIPTION_LEASE_SECONDS": "3",
        "MEDSVC_SUBSCRIPTION_POLL_SECONDS": "0.2",
        "MEDSVC_LOG_LEVEL": "ERROR",
    }
    command = [sys.executable, "-m", "medsvc", "worker"]
    return subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE)


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_worker_killed_mid_send_loses_no_event(
    client: httpx.Client,
    clean: Backend,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
    tmp_path: Path,
) -> None:
    hospital = hospitals("North")
    active(hospital, receiver, deliver, "slot-availability")
    first = add_slots(client, hospital.clinic.schedule, 3)
    receiver.delay = 5.0
    killed = worker(clean, tmp_path)
    try:
        wait_for(lambda: any(r.kind == "event-notification" for r in receiver.arrived))
    finally:
        killed.kill()
        killed.communicate(timeout=10)
    assert receiver.event_numbers() == []  # it arrived, and was never answered
    receiver.delay = 0.0
    rest = add_slots(client, hospital.clinic.schedule, 2)
    restarted = worker(clean, tmp_path)
    everything = [1, 2, 3, 4, 5]
    try:
        wait_for(lambda: any(r.event_numbers == everything for r in receiver.received))
    finally:
        restarted.send_signal(signal.SIGTERM)
        _, errors = restarted.communicate(timeout=30)
    assert restarted.returncode == 0, errors.decode()
    # At least once: the killed worker's notification may have been taken in as well.
    assert set(receiver.event_numbers()) == set(everything)
    sent_again = next(r for r in receiver.received if r.event_numbers == everything)
    foci = [e["focus"]["reference"] for e in sent_again.status["notificationEvent"]]
    assert foci == [f"Slot/{s}" for s in first + rest]
