"""Subscription notifications as R4B defines them (subscription.html, the Backport IG for R4):
a history Bundle whose first entry is a SubscriptionStatus (handshake, heartbeat,
event-notification, or query-status and query-event for $status and $events), followed by
each event's focus: its reference only (id-only), its content too (full-resource), or
nothing (empty). An event whose focus its subscriber may no longer read keeps its number and
time, and loses its focus."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from medsvc.fhir import FhirServer, OrganizationView, Sealer, jsonio, read_current, read_version
from medsvc.fhir.datetimes import format_instant
from medsvc.subscriptions.channel import Channel
from medsvc.subscriptions.outbox import sees
from medsvc.subscriptions.tables import SubscriptionEvent, SubscriptionState

EVENT = SubscriptionEvent.__table__  # type: ignore[attr-defined]
E = EVENT.c


@dataclass(frozen=True)
class Event:
    number: int
    occurred_at: datetime
    focus_type: str
    focus_id: str
    focus_version: int


def events_between(
    session: Connection, subscription_id: str, after: int, through: int, limit: int
) -> list[Event]:
    """The subscription's events numbered after `after` and up to `through`, in order."""
    rows = session.execute(
        select(E.event_number, E.occurred_at, E.focus_type, E.focus_id, E.focus_version)
        .where(E.subscription_id == subscription_id, E.event_number > after)
        .where(E.event_number <= through)
        .order_by(E.event_number)
        .limit(limit)
    ).all()
    return [Event(*row) for row in rows]


def shown(
    session: Connection,
    view: OrganizationView | None,
    organization: str,
    events: Sequence[Event],
) -> set[int]:
    """The numbers of the events whose focus the organization may still read."""
    return {e.number for e in events if sees(session, view, organization, e.focus_type, e.focus_id)}


def status_resource(
    base_url: str,
    state: SubscriptionState | Any,
    kind: str,
    events: Sequence[Event],
    seen: set[int],
) -> dict[str, Any]:
    """The SubscriptionStatus; seen holds the numbers of the events whose focus is shown."""
    status: dict[str, Any] = {
        "resourceType": "SubscriptionStatus",
        "status": state.status,
        "type": kind,
        "eventsSinceSubscriptionStart": str(state.events_since_start),
        "subscription": {"reference": f"{base_url}/Subscription/{state.subscription_id}"},
        "topic": state.topic,
    }
    if events:
        status["notificationEvent"] = [_notification_event(e, e.number in seen) for e in events]
    return status


def _notification_event(event: Event, shown: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "eventNumber": str(event.number),
        "timestamp": format_instant(event.occurred_at),
    }
    if shown:
        found["focus"] = {"reference": f"{event.focus_type}/{event.focus_id}"}
    return found


def bundle(
    server: FhirServer,
    session: Connection,
    state: SubscriptionState | Any,
    channel: Channel,
    kind: str,
    events: Sequence[Event],
    seen: set[int],
    now: datetime,
) -> dict[str, Any]:
    status = status_resource(server.base_url, state, kind, events, seen)
    entries: list[dict[str, Any]] = [{"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": status}]
    if channel.content != "empty":
        shown = [e for e in events if e.number in seen]
        entries += [_focus_entry(server, session, e, channel.content) for e in shown]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": "history",
        "timestamp": format_instant(now),
        "entry": entries,
    }


def _focus_entry(
    server: FhirServer, session: Connection, event: Event, content: str
) -> dict[str, Any]:
    url = f"{event.focus_type}/{event.focus_id}"
    entry: dict[str, Any] = {
        "fullUrl": f"{server.base_url}/{url}",
        "request": {"method": "PUT", "url": url},
        "response": {"status": "200", "etag": f'W/"{event.focus_version}"'},
    }
    if content == "full-resource":
        version = _version(session, server.sealer, event)
        if version is not None:
            entry["resource"] = jsonio.raw(version)
    return entry


def _version(session: Connection, sealer: Sealer | None, event: Event) -> bytes | None:
    """The focus as it was at the event (its version then), read through the store, which
    opens it when sealed."""
    current = read_current(session, sealer, event.focus_type, event.focus_id)
    if current is None:
        return None
    at_event = (
        current
        if current.version_id == event.focus_version
        else read_version(session, sealer, current, event.focus_version)
    )
    return at_event.content if at_event is not None else None
