"""What the periodic jobs that send over HTTP cost when there is nothing to send, which is most
of their runs: the subscription delivery job polls every 2 seconds and the gateway's
send-notices job every 10, in every process that runs jobs. CPU time per run, in one process,
on a fresh migrated database of each kind (median of several runs).

The baselines are in the same run: one read-only unit of work that asks the database one
trivial question (the least a poll can cost), and building one HTTP client (httpx, its TLS
context included), which each idle run paid before the jobs made a client only when
something is due.

    .venv/bin/python bench/idle_jobs_bench.py [--runs 7] [--iterations 200]
"""

import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cpu_bench import Measured, database_of, main, median_table

from medsvc import clock, jobs
from medsvc.assembly import fhir_server
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.kit import migrate

START, END = "<!-- idle-jobs:start -->", "<!-- idle-jobs:end -->"
BASELINE = "one read-only unit of work (SELECT 1)"
CLIENT = "building one HTTP client (httpx.Client, TLS context)"
DELIVERY = "deliver-notifications, nothing due"
DELIVERY_POLL_SECONDS = 2.0  # MEDSVC_SUBSCRIPTION_POLL_SECONDS's default


def steps(database: Database, settings: Settings) -> dict[str, Callable[[], object]]:
    server = fhir_server(settings)
    delivery = jobs.delivery_job(server, settings)
    notices = jobs.notices_job(settings)

    def one_question() -> None:
        with database.session(write=False) as session:
            session.execute(text("SELECT 1")).scalar_one()

    def one_client() -> None:
        httpx.Client(follow_redirects=False).close()

    return {
        BASELINE: one_question,
        CLIENT: one_client,
        DELIVERY: lambda: delivery.run(database, clock.now()),
        "send-notices, nothing due": lambda: notices.run(database, clock.now()),
    }


def cpu_per_call(step: Callable[[], object], iterations: int) -> float:
    step()  # first call: statements compiled and connections opened, as a served process has
    started = time.process_time()
    for _ in range(iterations):
        step()
    return (time.process_time() - started) / iterations


def measure(backend: str, runs: int, iterations: int) -> Measured:
    measured: Measured = {}
    with database_of(backend) as url, tempfile.TemporaryDirectory() as keys:
        migrate.upgrade(url)
        settings = Settings(
            database_url=url,
            keys_dir=Path(keys),
            base_url="http://127.0.0.1:8000/fhir",
            notify_webhook_url="https://gateway.example/notices",
        )
        database = Database(settings)
        try:
            named = steps(database, settings)
            for _ in range(runs):
                for name, step in named.items():
                    measured.setdefault(name, []).append(cpu_per_call(step, iterations))
        finally:
            database.dispose()
    return measured


def table(backend: str, measured: Measured) -> list[str]:
    lines, medians = median_table(backend, measured, BASELINE, ("run", "the baseline"))
    every = DELIVERY_POLL_SECONDS
    before = (medians[CLIENT] + medians[DELIVERY]) / every
    after = medians[DELIVERY] / every
    lines += [
        "",
        f"An idle delivery poll every {every:g} s costs {after:.3%} of a core per process; with",
        f"the client built on every poll, as before, it was {before:.2%}.",
    ]
    return [*lines, ""]


def section(results: list[tuple[str, Measured]], runs: int, iterations: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## Jobs with nothing to send (`make bench-idle`)",
        "",
        "The CPU an idle run of the jobs that post over HTTP costs (most of their runs: delivery",
        "polls every 2 s, send-notices every 10 s, in each process that runs jobs), beside one",
        "read-only unit of work asking `SELECT 1` (the baseline) and the HTTP client each idle",
        "run used to build, measured in the same process and run. The jobs now lease first and",
        f"build a client only when something is due. {runs} runs of {iterations} calls each;",
        f"CPU time (`time.process_time`); {when}, Python {platform.python_version()},",
        f"{platform.machine()}.",
        "",
    ]
    for backend, measured in results:
        lines += table(backend, measured)
    return "\n".join([*lines, END])


if __name__ == "__main__":
    main(__doc__.split("\n\n")[0], measure, section, (START, END))
