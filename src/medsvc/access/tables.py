"""The access policy's tables: the break-glass log (each practitioner's emergency access to a
patient, with its reason and its end), the patients each hospital resolved by identifier, and
the proxies (who may act for whom)."""

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


class Proxy(SQLModel, table=True):
    """One person acting for another: a parent or guardian for a child, an adult for another
    adult who consented. Its FHIR face is a RelatedPerson of the patient, with the same
    relationship and period. Ended by its period or revoked; rows are kept for review."""

    __tablename__ = "proxy"
    __table_args__ = (
        Index("ix_proxy_proxy_patient_id", "proxy_patient_id"),
        Index("ix_proxy_patient_id", "patient_id"),
    )

    id: str = Field(sa_column=Column(String(ID_LEN), primary_key=True))
    patient_id: str = Field(sa_type=String(ID_LEN))  # the person acted for
    proxy_patient_id: str = Field(sa_type=String(ID_LEN))  # the person acting (their Patient)
    related_person_id: str = Field(sa_type=String(ID_LEN))
    relationship: str = Field(sa_type=String(16))  # HL7 v3 RoleCode: MTH, FTH, GUARD, ...
    kind: str = Field(sa_type=String(16))  # "guardian" of a child, or "consented" adult
    established_by: str = Field(sa_type=String(32))  # operator, hospital, provider, consent
    starts_at: datetime = Field(sa_type=DateTime(timezone=True))
    ends_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # When its grants were revoked for its end (the end-proxies job), so it is done once.
    grants_ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
