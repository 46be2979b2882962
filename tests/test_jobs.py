"""The job runner: batches until one leaves nothing, each committed on its own; the jobs the
service runs, in-process or in `medsvc worker`."""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, text

from medsvc import clock, jobs
from medsvc.assembly import fhir_server
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import add_patient, add_slots, booked, open_clinic, parameters


class Countdown:
    """A job with `left` items to do, `batch` at a time, counting its calls."""

    def __init__(self, left: int, batch: int):
        self.left, self.batch, self.calls = left, batch, 0

    def __call__(self, session: Connection, _now: datetime) -> int:
        self.calls += 1
        done = min(self.left, self.batch)
        self.left -= done
        session.execute(text("SELECT 1"))
        return done


def test_a_job_runs_batch_after_batch_until_one_leaves_nothing(clean: Backend) -> None:
    work = Countdown(left=25, batch=10)
    assert jobs.run_once(clean.database, jobs.Job("count", work, 60, work.batch)) == 25
    assert work.calls == 3
    empty = Countdown(left=0, batch=10)
    assert jobs.run_once(clean.database, jobs.Job("none", empty, 60, empty.batch)) == 0
    assert empty.calls == 1


def test_the_service_runs_deliveries_holds_releases_reminders_templates_and_clean_ups(
    clean: Backend,
) -> None:
    listed = jobs.jobs(fhir_server(clean.settings), clean.settings)
    assert [j.name for j in listed] == [
        "deliver-notifications",
        "expire-holds",
        "release-results",
        "send-reminders",
        "materialise-templates",
        "forget-sign-in-failures",
        "end-app-sessions",
        "forget-identity-leftovers",
        "end-proxies",
    ]
    for job in listed:
        assert jobs.run_once(clean.database, job) == 0  # nothing to do in an empty database


def test_the_in_process_scheduler_runs_every_job(clean: Backend) -> None:
    scheduler = jobs.start_in_process(clean.database, fhir_server(clean.settings), clean.settings)
    try:
        assert sorted(job.id for job in scheduler.get_jobs()) == [
            "deliver-notifications",
            "end-app-sessions",
            "end-proxies",
            "expire-holds",
            "forget-identity-leftovers",
            "forget-sign-in-failures",
            "materialise-templates",
            "release-results",
            "send-reminders",
        ]
    finally:
        scheduler.shutdown(wait=True)


@pytest.mark.parametrize("stopping", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_process_ends_holds(
    client: httpx.Client, clean: Backend, tmp_path: Path, stopping: signal.Signals
) -> None:
    clock.set_source(lambda: datetime.now(UTC) - timedelta(hours=1))  # the hold ended 50 min ago
    clinic = open_clinic(client)
    [slot] = add_slots(client, clinic.schedule, 1, first=datetime.now(UTC) + timedelta(days=3))
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{add_patient(client, '1')}")
    held = booked(client.post("/Appointment/$hold", json=body, headers=FHIR_JSON))
    clock.reset()
    env = {**os.environ, "MEDSVC_DATABASE_URL": clean.url, "MEDSVC_LOG_LEVEL": "WARNING"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "medsvc", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # Started as a shell starts a background job, with SIGINT ignored: it still stops.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 60
        status = "pending"
        while status == "pending" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = client.get(f"/Appointment/{held['id']}").json()["status"]
    finally:
        worker.send_signal(stopping)
        _, errors = worker.communicate(timeout=30)
    assert status == "cancelled", errors.decode()
    assert worker.returncode == 0, errors.decode()
    assert errors.decode().endswith("medsvc: worker stopped\n")
    assert client.get(f"/Slot/{slot}").json()["status"] == "free"
