"""The release of results to their patients: each result's state, each patient's choice, and
the log of every hold and release."""

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, PrimaryKeyConstraint, String
from sqlmodel import Column, Field, SQLModel

from medsvc.db import BigId

TYPE_LEN, ID_LEN = 64, 64


class ResultRelease(SQLModel, table=True):
    """Whether a result (DiagnosticReport, Observation, DocumentReference) is visible to its
    patient: waiting (until due_at, or a clinician's review), held, or released."""

    __tablename__ = "result_release"
    __table_args__ = (
        PrimaryKeyConstraint("resource_type", "resource_id", name="pk_result_release"),
        Index(
            "ix_result_release_patient_id_resource_type_state",
            "patient_id",
            "resource_type",
            "state",
        ),
        Index("ix_result_release_state_due_at", "state", "due_at"),
        Index("ix_result_release_notified", "notified"),
    )

    resource_type: str = Field(sa_type=String(TYPE_LEN))
    resource_id: str = Field(sa_type=String(ID_LEN))
    patient_id: str = Field(sa_type=String(ID_LEN))
    state: str = Field(sa_type=String(16))
    needs_review: bool = Field(sa_type=Boolean)
    # When the policy releases it (None: not final yet, or waiting for a review).
    due_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    released_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    hold_reason: str | None = Field(default=None, sa_type=String(1000))
    # Whether its patient has been told (reports and documents only; None: nothing to tell).
    notified: bool | None = Field(default=None, sa_type=Boolean)


class ReleaseChoice(SQLModel, table=True):
    """A patient's choice to see their results only after a clinician has reviewed them."""

    __tablename__ = "release_choice"

    patient_id: str = Field(sa_column=Column(String(ID_LEN), primary_key=True))
    after_review: bool = Field(sa_type=Boolean)
    updated_at: datetime = Field(sa_type=DateTime(timezone=True))


class ReleaseLog(SQLModel, table=True):
    """Every hold, release and choice, by whom and why (append-only)."""

    __tablename__ = "release_log"

    seq: int | None = Field(
        default=None, sa_column=Column("seq", BigId, primary_key=True, autoincrement=True)
    )
    at: datetime = Field(sa_type=DateTime(timezone=True))
    action: str = Field(sa_type=String(32))  # released | held | choice
    resource: str = Field(sa_type=String(TYPE_LEN + ID_LEN + 1))
    by: str = Field(sa_type=String(200))  # the caller's subject, or "policy"
    reason: str | None = Field(default=None, sa_type=String(1000))
