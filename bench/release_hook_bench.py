"""What the results' release hook costs for each result a lab pushes, beside the raw SQL it
runs: CPU time per result, in one process, on a fresh migrated database of each kind (median
of several runs).

The hook (results/release.ReleasePolicy.after_write) runs after every DiagnosticReport,
Observation and DocumentReference is written: a final result with no rule is tracked and
released at once, which is five statements (its release state, the patient's choice, the
tracking row, the release, the log). The baseline, in the same run, is those five statements
as SQL text with their parameters, executed on the same connection: what the database itself
must be asked. Each batch of results runs in one transaction, rolled back after it.

    .venv/bin/python bench/release_hook_bench.py [--runs 7] [--iterations 200]
"""

import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_bench import Measured, database_of, main, median_table

from medsvc import clock
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import Stored, WriteEvent
from medsvc.kit import migrate
from medsvc.results import release
from medsvc.results.release_rules import parse_rules
from medsvc.security.context import platform_context

START, END = "<!-- release-hook:start -->", "<!-- release-hook:end -->"
BASE = "http://127.0.0.1:8000/fhir"
HOOK, RAW = "the release hook (ReleasePolicy.after_write)", "its five statements as SQL text"
CTX = platform_context("bench")
RESULT = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "2160-0"}]},
    "subject": {"reference": "Patient/p1"},
}
RAW_STATEMENTS = (
    "SELECT state, due_at, needs_review FROM result_release"
    " WHERE resource_type = :t AND resource_id = :i",
    "SELECT after_review FROM release_choice WHERE patient_id = :p",
    "INSERT INTO result_release (resource_type, resource_id, patient_id, state, needs_review,"
    " notified) VALUES (:t, :i, :p, 'waiting', false, NULL)",
    "UPDATE result_release SET state = 'released', released_at = :at, due_at = NULL,"
    " hold_reason = NULL WHERE resource_type = :t AND resource_id = :i",
    'INSERT INTO release_log (at, action, resource, "by", reason)'
    " VALUES (:at, 'released', :r, 'policy', NULL)",
)


def stored(resource_id: str) -> Stored:
    return Stored(1, "Observation", resource_id, 1, clock.now(), False, None)


def hook_step(policy: release.ReleasePolicy) -> Callable[[Connection], None]:
    def step(session: Connection) -> None:
        event = WriteEvent("create", "Observation", RESULT, None)
        policy.after_write(session, CTX, event, stored(str(uuid.uuid4())))

    return step


def raw_step(session: Connection) -> None:
    values: dict[str, Any] = {"t": "Observation", "i": str(uuid.uuid4()), "p": "p1"}
    values |= {"at": clock.now(), "r": f"Observation/{values['i']}"}
    for statement in RAW_STATEMENTS:
        session.execute(text(statement), values)


def cpu_per_result(database: Database, step: Callable[[Connection], None], count: int) -> float:
    with database.session(write=True) as session:
        step(session)  # first call: statements compiled, as a served process has them
        started = time.process_time()
        for _ in range(count):
            step(session)
        spent = time.process_time() - started
        session.rollback()
    return spent / count


def measure(backend: str, runs: int, iterations: int) -> Measured:
    measured: Measured = {}
    with database_of(backend) as url, tempfile.TemporaryDirectory() as keys:
        migrate.upgrade(url)
        settings = Settings(database_url=url, keys_dir=Path(keys), base_url=BASE)
        database = Database(settings)
        policy = release.ReleasePolicy(parse_rules("", False), BASE, None)
        steps = {HOOK: hook_step(policy), RAW: raw_step}
        try:
            for _ in range(runs):
                for name, step in steps.items():
                    measured.setdefault(name, []).append(cpu_per_result(database, step, iterations))
        finally:
            database.dispose()
    return measured


def table(backend: str, measured: Measured) -> list[str]:
    lines, _ = median_table(backend, measured, RAW, ("per result", "the raw SQL"))
    return [*lines, ""]


def section(results: list[tuple[str, Measured]], runs: int, iterations: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## The results' release hook, per result (`make bench-release-hook`)",
        "",
        "What the hook that tracks and releases each result a lab pushes costs, beside the five",
        "statements it asks the database, as SQL text on the same connection (the baseline, in",
        f"the same process and run). {runs} runs of {iterations} results each, every batch in",
        f"one transaction rolled back after it; CPU time (`time.process_time`); {when}, Python",
        f"{platform.python_version()}, {platform.machine()}.",
        "",
    ]
    for backend, measured in results:
        lines += table(backend, measured)
    return "\n".join([*lines, END])


if __name__ == "__main__":
    main(__doc__.split("\n\n")[0], measure, section, (START, END))
