"""The outbox: each event of a topic numbered for every subscription of an organization that
sees its focus, in the transaction of the change that caused it (a write rolled back leaves
no event; a committed one always has its events)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update

from medsvc import clock
from medsvc.fhir import OrganizationView, Stored, TopicEvent, WriteEvent, pending
from medsvc.fhir.index import RESOURCE
from medsvc.security.context import AuthContext
from medsvc.subscriptions import topics
from medsvc.subscriptions.tables import SubscriptionEvent, SubscriptionState

STATE = SubscriptionState.__table__  # type: ignore[attr-defined]
EVENT = SubscriptionEvent.__table__  # type: ignore[attr-defined]
S = STATE.c
LIVE = ("requested", "active", "error")  # an error stops delivery, not the numbering


@dataclass(frozen=True)
class Outbox:
    """The outbox's write hook and event listener, over the organizations' views."""

    view: OrganizationView | None

    def record_events(
        self, session: Connection, _ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        """The after-write hook on the types topics watch: records the events of those
        topics."""
        record_events(session, self.view, event, stored)

    def on_event(self, session: Connection, event: TopicEvent) -> None:
        on_event(session, self.view, event)


def record_events(
    session: Connection, view: OrganizationView | None, event: WriteEvent, stored: Stored
) -> None:
    watching = topics.of_type(event.resource_type)
    subscribed = _subscribed(session, [topic.url for topic in watching]) if watching else set()
    if not subscribed:
        return  # no trigger is evaluated for a topic nobody subscribes to
    previous = event.previous
    focus = Focus(stored.resource_type, stored.id, stored.version_id)
    for topic in watching:
        if topic.url in subscribed and topic.triggered_by(
            event.interaction, previous, event.resource
        ):
            record(session, view, topic.url, focus, clock.now())


def _subscribed(session: Connection, urls: list[str]) -> set[str]:
    """The topics among these that a live subscription follows."""
    found = session.execute(
        select(S.topic).distinct().where(S.topic.in_(urls), S.status.in_(LIVE))
    ).scalars()
    return set(found)


def on_event(session: Connection, view: OrganizationView | None, event: TopicEvent) -> None:
    """The listener of the domains' events (SubscriptionTopic.eventTrigger)."""
    for topic in topics.of_event(event.code):
        if topic.resource_type != event.focus_type:
            continue
        version = session.execute(
            select(RESOURCE.c.version_id).where(
                RESOURCE.c.resource_type == event.focus_type, RESOURCE.c.id == event.focus_id
            )
        ).scalar()
        if version is not None:
            focus = Focus(event.focus_type, event.focus_id, version)
            record(session, view, topic.url, focus, clock.now())


class Focus(NamedTuple):
    resource_type: str
    id: str
    version_id: int


def record(
    session: Connection,
    view: OrganizationView | None,
    topic: str,
    focus: Focus,
    now: datetime,
) -> int:
    """Numbers the event for every live subscription to the topic whose organization sees
    the focus; returns how many."""
    subscribed = session.execute(
        select(S.subscription_id, S.organization)
        .where(S.topic == topic, S.status.in_(LIVE))
        .order_by(S.subscription_id)  # one order of row locks for every writer
    ).all()
    if not subscribed:
        return 0
    pending.flush(session)  # the focus's index rows decide whom it belongs to
    organizations_subscribed = {row.organization for row in subscribed}
    seeing = {
        org
        for org in organizations_subscribed
        if sees(session, view, org, focus.resource_type, focus.id)
    }
    recorded = 0
    for row in subscribed:
        if row.organization in seeing:
            _number(session, row.subscription_id, focus, now)
            recorded += 1
    return recorded


def sees(
    session: Connection,
    view: OrganizationView | None,
    organization: str,
    resource_type: str,
    resource_id: str,
) -> bool:
    """Whether the organization's systems may read the resource."""
    query = select(RESOURCE.c.pk).where(
        RESOURCE.c.resource_type == resource_type, RESOURCE.c.id == resource_id
    )
    if view is not None:
        query = query.where(view(organization, resource_type, RESOURCE))
    found = session.execute(query).first()
    return found is not None


def _number(session: Connection, subscription_id: str, focus: Focus, now: datetime) -> None:
    # The row lock this update takes is held to commit: the next writer numbers after it,
    # so numbers commit in order and delivery never finds a gap it must wait for.
    number = session.execute(
        update(STATE)
        .where(S.subscription_id == subscription_id)
        .values(events_since_start=S.events_since_start + 1)
        .returning(S.events_since_start)
    ).scalar_one()
    session.execute(
        insert(EVENT).values(
            subscription_id=subscription_id,
            event_number=number,
            occurred_at=now,
            focus_type=focus.resource_type,
            focus_id=focus.id,
            focus_version=focus.version_id,
        )
    )


def keep_state(session: Connection, _ctx: AuthContext, event: WriteEvent, stored: Stored) -> None:
    """The after-write hook on Subscription: its delivery state follows its status."""
    subscription_id = stored.id
    if event.resource is None:
        session.execute(delete(EVENT).where(EVENT.c.subscription_id == subscription_id))
        session.execute(delete(STATE).where(S.subscription_id == subscription_id))
        return
    status = str(event.resource.get("status"))
    existing = session.execute(
        select(S.status).where(S.subscription_id == subscription_id)
    ).scalar_one_or_none()
    if existing is None:
        session.execute(
            insert(STATE).values(
                subscription_id=subscription_id,
                organization=_owner(session, stored),
                topic=str(event.resource.get("criteria")),
                status=status,
                events_since_start=0,
                delivered=0,
                handshake_done=False,
                attempts=0,
                next_attempt_at=clock.now(),
            )
        )
    elif existing != status:
        changes: dict[str, Any] = {"status": status}
        if status == "requested":  # asked again after an error or off: a new handshake
            changes |= {
                "handshake_done": False,
                "attempts": 0,
                "failing_since": None,
                "next_attempt_at": clock.now(),
            }
        session.execute(update(STATE).where(S.subscription_id == subscription_id).values(changes))


def _owner(session: Connection, stored: Stored) -> str:
    owner = session.execute(select(RESOURCE.c.owner).where(RESOURCE.c.pk == stored.pk)).scalar()
    return str(owner or "")
