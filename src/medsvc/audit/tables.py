"""The audit chain: the order of the AuditEvents and the hash that links each to the one before."""

from sqlalchemy import ForeignKey, String
from sqlmodel import Column, Field, SQLModel

from medsvc.db import BigId


class AuditChain(SQLModel, table=True):
    """The order of the AuditEvents and the hash that links each to the one before it;
    append-only (triggers refuse UPDATE and DELETE, as they do for AuditEvent rows)."""

    __tablename__ = "audit_chain"

    seq: int | None = Field(
        default=None, sa_column=Column("seq", BigId, primary_key=True, autoincrement=True)
    )
    resource_pk: int = Field(
        sa_column=Column(BigId, ForeignKey("resource.pk"), unique=True, nullable=False)
    )
    previous: str = Field(sa_type=String(64))
    hash: str = Field(sa_type=String(64))
