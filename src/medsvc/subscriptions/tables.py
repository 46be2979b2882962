"""Each subscription's delivery state, and the outbox of its events, written in the same
transaction as the change that caused them."""

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, PrimaryKeyConstraint, String
from sqlmodel import Column, Field, SQLModel

ID_LEN, TYPE_LEN, URL_LEN = 64, 64, 2000


class SubscriptionState(SQLModel, table=True):
    """A Subscription as the outbox and the delivery job see it: whose it is, its topic, how
    far its events have been numbered and delivered, and when to try next."""

    __tablename__ = "subscription_state"
    __table_args__ = (
        Index("ix_subscription_state_topic_status", "topic", "status"),
        Index("ix_subscription_state_status_next_attempt_at", "status", "next_attempt_at"),
    )

    subscription_id: str = Field(sa_column=Column(String(ID_LEN), primary_key=True))
    organization: str = Field(sa_type=String(ID_LEN + 13))  # Organization/<id>
    topic: str = Field(sa_type=String(URL_LEN))
    status: str = Field(sa_type=String(16))  # requested | active | error | off
    # Event numbers: the last one given (R4B SubscriptionStatus.eventsSinceSubscriptionStart)
    # and the last one the endpoint accepted.
    events_since_start: int = Field(default=0, sa_type=BigInteger)
    delivered: int = Field(default=0, sa_type=BigInteger)
    handshake_done: bool = Field(default=False)
    attempts: int = Field(default=0, sa_type=Integer)
    next_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    failing_since: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # When an active subscription with a heartbeat period is due one (nothing sent since).
    heartbeat_due_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # A delivering worker's lease: no other worker sends for this subscription until it ends.
    leased_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    lease_owner: str | None = Field(default=None, sa_type=String(64))
    last_error: str | None = Field(default=None, sa_type=String(500))


class SubscriptionEvent(SQLModel, table=True):
    """One event of one subscription: what happened to which resource version, and when."""

    __tablename__ = "subscription_event"
    __table_args__ = (
        PrimaryKeyConstraint("subscription_id", "event_number", name="pk_subscription_event"),
    )

    subscription_id: str = Field(sa_type=String(ID_LEN))
    event_number: int = Field(sa_type=BigInteger)
    occurred_at: datetime = Field(sa_type=DateTime(timezone=True))
    focus_type: str = Field(sa_type=String(TYPE_LEN))
    focus_id: str = Field(sa_type=String(ID_LEN))
    focus_version: int = Field(sa_type=Integer)
