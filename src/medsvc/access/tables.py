"""The access policy's tables: the break-glass log (each practitioner's emergency access to a
patient, with its reason and its end) and the patients each hospital resolved by identifier."""

from datetime import datetime

from sqlalchemy import DateTime, Index, PrimaryKeyConstraint, String
from sqlmodel import Column, Field, SQLModel

from medsvc.db import BigId

ID_LEN = 64
REASON_LEN = 1000


class BreakGlass(SQLModel, table=True):
    """A practitioner's access to one patient outside their care, asserted with a reason and
    lasting until expires_at. Rows are kept for review, never changed."""

    __tablename__ = "break_glass"
    __table_args__ = (
        Index("ix_break_glass_practitioner_expires_at", "practitioner", "expires_at"),
        Index("ix_break_glass_granted_at", "granted_at"),
    )

    pk: int | None = Field(
        default=None, sa_column=Column("pk", BigId, primary_key=True, autoincrement=True)
    )
    practitioner: str = Field(sa_type=String(ID_LEN))  # the Practitioner's id
    patient_id: str = Field(sa_type=String(ID_LEN))
    reason: str = Field(sa_type=String(REASON_LEN))
    subject: str = Field(sa_type=String(200))  # the signed-in account that asserted it
    granted_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))


class OrganizationPatient(SQLModel, table=True):
    """A patient a hospital system resolved by an exact identifier in one of its pushes:
    from then on the patient is in that hospital's view."""

    __tablename__ = "organization_patient"
    __table_args__ = (
        PrimaryKeyConstraint("organization", "patient_id", name="pk_organization_patient"),
    )

    organization: str = Field(sa_type=String(140))
    patient_id: str = Field(sa_type=String(ID_LEN))
