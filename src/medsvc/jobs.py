"""The periodic jobs (a function `(session, now)` in its domain each, bound to the server it
writes through) and the APScheduler runner: inside the API process for the embedded
default, or in `medsvc worker`."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Connection

from medsvc import clock
from medsvc.access import proxies
from medsvc.access.stand_ins import citizens_notifier
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import FhirServer
from medsvc.identity import leftovers
from medsvc.notify import communications
from medsvc.notify import webhook as notify_webhook
from medsvc.notify.webhook import NoticePoster
from medsvc.results import release
from medsvc.scheduling import holds, materialise, reminders
from medsvc.security import signin_throttle
from medsvc.subscriptions import delivery, signature
from medsvc.web import sessions as web_sessions

log = logging.getLogger("medsvc.jobs")


# A job that did a whole batch runs again at once, each batch in its own transaction (so
# a first fill of many template slots neither waits for the next interval nor holds the
# SQLite writer for minutes); this bounds one run.
MAX_BATCHES = 1000


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Connection, datetime], int]
    every_seconds: float
    batch: int  # what one call does at most: a call that does this much may have left more


@dataclass(frozen=True)
class DatabaseJob:
    """A job that opens its own units of work: delivery holds none while it sends."""

    name: str
    run: Callable[[Database, datetime], int]
    every_seconds: float
    batch: int


def notices_job(settings: Settings) -> DatabaseJob:
    keys = signature.notification_keys(settings.keys_dir)
    poster = NoticePoster(
        settings.notify_webhook_url,
        communications.contacts,
        partial(signature.sign, keys),
        signature.HEADER,
        timedelta(hours=settings.notify_retry_hours),
    )
    return DatabaseJob("send-notices", poster.run, 10, notify_webhook.BATCH)


def delivery_job(server: FhirServer, settings: Settings) -> DatabaseJob:
    keys = signature.notification_keys(settings.keys_dir)
    deliver = delivery.Delivery(
        server,
        keys,
        retry_window=timedelta(hours=settings.subscription_retry_hours),
        lease=timedelta(seconds=settings.subscription_lease_seconds),
    )
    return DatabaseJob(
        "deliver-notifications", deliver.run, settings.subscription_poll_seconds, delivery.BATCH
    )


def jobs(server: FhirServer, settings: Settings) -> list[Job | DatabaseJob]:
    gateway: list[Job | DatabaseJob] = (
        [notices_job(settings)] if settings.notify_webhook_url else []
    )
    return [
        *gateway,
        delivery_job(server, settings),
        Job("expire-holds", partial(holds.expire_holds, server), 30, holds.BATCH),
        Job(
            "release-results",
            partial(release.release_results, citizens_notifier(server, settings), server.registry),
            30,
            release.BATCH,
        ),
        Job(
            "send-reminders",
            partial(
                reminders.send_due_reminders,
                citizens_notifier(server, settings),
                settings.timezone,
                base_url=server.base_url,
            ),
            30,
            reminders.BATCH,
        ),
        Job(
            "materialise-templates",
            partial(
                materialise.materialise_templates,
                server,
                settings.template_horizon_days,
                settings.timezone,
            ),
            600,
            materialise.BATCH,
        ),
        Job(
            "forget-sign-in-failures",
            signin_throttle.forget_old_failures,
            3600,
            signin_throttle.FORGET_BATCH,
        ),
        Job("end-app-sessions", web_sessions.delete_expired, 600, web_sessions.BATCH),
        Job("forget-identity-leftovers", leftovers.forget_old, 3600, leftovers.BATCH),
        Job("end-proxies", partial(proxies.end_expired, server), 600, proxies.BATCH),
    ]


def run_once(database: Database, job: Job | DatabaseJob, now: datetime | None = None) -> int:
    """One run of a job: batches, each in its own transaction, until one leaves nothing."""
    total = 0
    for _ in range(MAX_BATCHES):
        if isinstance(job, DatabaseJob):
            done = job.run(database, now or clock.now())
        else:
            with database.session(write=True) as session:
                done = job.run(session, now or clock.now())
        total += done
        if done < job.batch:
            break
    if total:
        log.info("job ran", extra={"fields": {"job": job.name, "done": total}})
    return total


def schedule(
    scheduler: BaseScheduler, database: Database, job_list: list[Job | DatabaseJob]
) -> None:
    """Adds the jobs, each run first at once, never two runs of one job at a time."""
    for job in job_list:
        scheduler.add_job(
            run_once,
            "interval",
            seconds=job.every_seconds,
            args=[database, job],
            id=job.name,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )


def start_in_process(database: Database, server: FhirServer, settings: Settings) -> BaseScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    schedule(scheduler, database, jobs(server, settings))
    scheduler.start()
    return scheduler
