"""Delivery of the outbox to rest-hook endpoints, at least once and in event-number order per
subscription. A worker leases a due subscription, builds and sends its next notification
holding no transaction, then records the outcome under its lease: a worker killed mid-send
leaves a lease that runs out and a notification sent again; two workers never send for one
subscription at once. A refused send is retried with exponential backoff until the retry
window has passed, then the subscription is set to error."""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Connection, or_, select, update

from medsvc.clock import utc
from medsvc.db import Database
from medsvc.fhir import FhirServer, interactions, jsonio, read_current
from medsvc.kit import leases, outbound
from medsvc.security.context import platform_context
from medsvc.security.signing import SigningKeys
from medsvc.subscriptions import notification, signature
from medsvc.subscriptions.channel import Channel, channel_of
from medsvc.subscriptions.outbox import STATE, S

log = logging.getLogger("medsvc.subscriptions")
DELIVERER = platform_context("subscription-delivery")
BATCH = 20  # subscriptions one pass leases
MAX_PASSES = 100  # passes one run makes while subscriptions are still due


@dataclass(frozen=True)
class Send:
    subscription_id: str
    endpoint: str
    headers: dict[str, str]
    body: bytes
    timeout: float
    handshake: bool
    through: int  # the last event number it carries
    heartbeat_seconds: int | None


@dataclass
class Delivery:
    server: FhirServer
    keys: SigningKeys
    retry_window: timedelta
    lease: timedelta  # a send waits at most half of it
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    def run(self, database: Database, now: datetime) -> int:
        """Sends until no subscription is due (a backlog goes out at once, the most events a
        notification holds at a time), or MAX_PASSES; returns how many notifications. The
        HTTP client (and its TLS context, costly to build) is made only when one is due: the
        job polls every few seconds, mostly with nothing to send."""
        started, sent = time.monotonic(), 0
        client: httpx.Client | None = None
        try:
            for _ in range(MAX_PASSES):
                at = now + timedelta(seconds=time.monotonic() - started)
                leased = self._lease(database, at)
                if not leased:
                    break
                client = client or httpx.Client(follow_redirects=False)
                sent += self._pass(database, client, leased, at)
        finally:
            if client is not None:
                client.close()
        return sent

    def _pass(
        self, database: Database, client: httpx.Client, leased: list[str], now: datetime
    ) -> int:
        for subscription_id in leased:
            with database.session(write=False) as session:
                send = self._prepare(session, subscription_id, now)
            if send is None:
                self._release(database, subscription_id)
                continue
            error = outbound.post(client, send.endpoint, send.body, send.headers, send.timeout)
            with database.session(write=True) as session:
                self._record(session, send, error, now)
        return len(leased)

    def _lease(self, database: Database, now: datetime) -> list[str]:
        due = (
            select(S.subscription_id)
            .where(
                or_(
                    (S.status == "requested") & ~S.handshake_done,
                    (S.status == "active") & (S.events_since_start > S.delivered),
                    (S.status == "active") & (S.heartbeat_due_at <= now),
                ),
                or_(S.next_attempt_at.is_(None), S.next_attempt_at <= now),
                leases.free(STATE, now),
            )
            .order_by(S.next_attempt_at)
            .limit(BATCH)
        )
        with database.session(write=False) as session:  # idle runs take no writer
            candidates = list(session.execute(due).scalars().all())
        if not candidates:
            return []
        with database.session(write=True) as session:
            until = now + self.lease
            return leases.take(
                session, STATE, S.subscription_id, candidates, self.owner, now, until
            )

    def _prepare(self, session: Connection, subscription_id: str, now: datetime) -> Send | None:
        state = session.execute(select(STATE).where(S.subscription_id == subscription_id)).first()
        current = read_current(session, self.server.sealer, "Subscription", subscription_id)
        if state is None or current is None or current.content is None:
            return None
        channel = channel_of(jsonio.loads_stored(current.content))
        handshake = not state.handshake_done
        events = (
            []
            if handshake
            else notification.events_between(
                session,
                subscription_id,
                state.delivered,
                state.events_since_start,
                channel.max_events,
            )
        )
        # Checked again now: the organization may no longer see a focus it saw at the event.
        seen = notification.shown(
            session, self.server.registry.organization_view, state.organization, events
        )
        kind = "handshake" if handshake else "event-notification" if events else "heartbeat"
        body = orjson.dumps(
            notification.bundle(self.server, session, state, channel, kind, events, seen, now)
        )
        through = events[-1].number if events else state.delivered
        timeout = min(channel.timeout_seconds, self.lease.total_seconds() / 2)
        return Send(
            subscription_id,
            channel.endpoint,
            _headers(channel, self.keys, body),
            body,
            timeout,
            handshake,
            through,
            channel.heartbeat_seconds,
        )

    def _record(self, session: Connection, send: Send, error: str | None, now: datetime) -> None:
        mine = (S.subscription_id == send.subscription_id) & (S.lease_owner == self.owner)
        state = session.execute(select(STATE).where(mine)).first()
        if state is None:
            return  # the lease ran out and another worker took over: it records its own
        if error is None:
            self._accepted(session, send, state, now)
            return
        failing_since = utc(state.failing_since) if state.failing_since else now
        given_up = now - failing_since >= self.retry_window
        session.execute(
            update(STATE)
            .where(mine)
            .values(
                **leases.RELEASED,
                attempts=state.attempts + 1,
                failing_since=failing_since,
                next_attempt_at=now + outbound.retry_wait(state.attempts),
                last_error=error[:500],
            )
        )
        fields = {"subscription": send.subscription_id, "error": error[:200]}
        log.warning("notification refused", extra={"fields": fields})
        if given_up:
            self._set_status(session, send.subscription_id, "error")

    def _accepted(self, session: Connection, send: Send, state: Any, now: datetime) -> None:
        mine = (S.subscription_id == send.subscription_id) & (S.lease_owner == self.owner)
        session.execute(
            update(STATE)
            .where(mine)
            .values(
                **leases.RELEASED,
                delivered=max(state.delivered, send.through),
                attempts=0,
                failing_since=None,
                next_attempt_at=now,
                last_sent_at=now,
                heartbeat_due_at=_heartbeat_due(send, now),
                last_error=None,
                handshake_done=state.handshake_done or send.handshake,
            )
        )
        if send.handshake and state.status == "requested":
            self._set_status(session, send.subscription_id, "active")

    def _release(self, database: Database, subscription_id: str) -> None:
        with database.session(write=True) as session:
            session.execute(
                update(STATE)
                .where(S.subscription_id == subscription_id, S.lease_owner == self.owner)
                .values(**leases.RELEASED)
            )

    def _set_status(self, session: Connection, subscription_id: str, status: str) -> None:
        """The Subscription shows what the service made of it (a new version)."""
        current = read_current(session, self.server.sealer, "Subscription", subscription_id)
        if current is None or current.content is None:
            return
        resource = jsonio.loads_stored(current.content)
        resource["status"] = status
        definition = self.server.definition("Subscription", "update")
        interactions.write_version(
            self.server, session, DELIVERER, definition, current, resource, None, "PUT"
        )


def _heartbeat_due(send: Send, now: datetime) -> datetime | None:
    """A heartbeat is due when nothing has been sent for the channel's heartbeat period."""
    return now + timedelta(seconds=send.heartbeat_seconds) if send.heartbeat_seconds else None


def _headers(channel: Channel, keys: SigningKeys, body: bytes) -> dict[str, str]:
    headers = dict(h.split(":", 1) for h in channel.headers)
    headers = {name.strip(): value.strip() for name, value in headers.items()}
    headers["Content-Type"] = "application/fhir+json"
    headers[signature.HEADER] = signature.sign(keys, body)
    return headers
