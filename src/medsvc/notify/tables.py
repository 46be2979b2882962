"""The webhook sender's queue of notices and one-time codes for the city's messaging gateway."""

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String
from sqlmodel import Column, Field, SQLModel


class NoticeWebhook(SQLModel, table=True):
    """A notice for the gateway: queued with the change that caused it, sent or given up."""

    __tablename__ = "notice_webhook"
    __table_args__ = (
        Index("ix_notice_webhook_sent_at_next_attempt_at", "sent_at", "next_attempt_at"),
    )

    notice_id: str = Field(sa_column=Column(String(36), primary_key=True))
    # Whom it is for: a patient (their contact points found when it is sent), or a bare mobile
    # number for a one-time code to someone who has no account yet; the number and the text
    # of a code are erased once it is sent or given up.
    patient_id: str | None = Field(default=None, sa_type=String(64))
    to_phone: str | None = Field(default=None, sa_type=String(32))
    # The patient a notice is for when it goes to someone told in their place (a proxy).
    on_behalf_of: str | None = Field(default=None, sa_type=String(64))
    topic: str = Field(sa_type=String(64))
    text: str = Field(sa_type=String(1000))
    about: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    attempts: int = Field(sa_type=Integer)
    next_attempt_at: datetime = Field(sa_type=DateTime(timezone=True))
    sent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    given_up_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    leased_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    lease_owner: str | None = Field(default=None, sa_type=String(64))
