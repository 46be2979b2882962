"""Tables of the versioned resource store, its search indexes and its conditional-create keys."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlmodel import Column, Field, SQLModel

from medsvc.db import BigId  # importing db installs the naming convention first

TYPE_LEN, ID_LEN = 64, 64


def _pk_named(name: str) -> Any:
    return Field(default=None, sa_column=Column(name, BigId, primary_key=True, autoincrement=True))


def _pk() -> Any:
    return _pk_named("pk")


def _resource_pk() -> Any:
    return Field(
        sa_column=Column(BigId, ForeignKey("resource.pk", ondelete="CASCADE"), nullable=False)
    )


class ResourceRow(SQLModel, table=True):
    """The current version of every resource, deleted ones included (content is then null)."""

    __tablename__ = "resource"
    __table_args__ = (UniqueConstraint("resource_type", "id", name="uq_resource_resource_type_id"),)

    pk: int | None = _pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    id: str = Field(sa_type=String(ID_LEN))
    version_id: int = Field(sa_type=Integer)
    last_updated: datetime = Field(sa_type=DateTime(timezone=True))
    deleted: bool = Field(sa_type=Boolean)
    content: bytes | None = Field(default=None, sa_type=LargeBinary)
    # The organization whose system created it ("Organization/7"); None for the platform
    # and for people. A hospital system sees and changes what it owns.
    owner: str | None = Field(default=None, sa_type=String(140))


class ResourceVersion(SQLModel, table=True):
    """Every version ever written; a delete is a version with no content."""

    __tablename__ = "resource_version"
    __table_args__ = (
        UniqueConstraint(
            "resource_pk", "version_id", name="uq_resource_version_resource_pk_version_id"
        ),
        Index("ix_resource_version_resource_type_pk", "resource_type", "pk"),
    )

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    id: str = Field(sa_type=String(ID_LEN))
    version_id: int = Field(sa_type=Integer)
    last_updated: datetime = Field(sa_type=DateTime(timezone=True))
    deleted: bool = Field(sa_type=Boolean)
    method: str = Field(sa_type=String(8))
    content: bytes | None = Field(default=None, sa_type=LargeBinary)


class ConditionalKey(SQLModel, table=True):
    """One row per (type, normalised condition): what makes conditional create unique."""

    __tablename__ = "conditional_key"
    __table_args__ = (
        PrimaryKeyConstraint("resource_type", "query_hash", name="pk_conditional_key"),
    )

    resource_type: str = Field(sa_type=String(TYPE_LEN))
    query_hash: str = Field(sa_type=String(64))
    resource_pk: int | None = Field(
        default=None,
        sa_column=Column(BigId, ForeignKey("resource.pk", ondelete="SET NULL"), nullable=True),
    )


def _index_args(table: str, *value_columns: str) -> tuple[Index, Index]:
    """One index finds rows by value (a search's driving criterion); the other checks one
    resource's values (the other criteria), covering them so that no table row is read."""
    values = "_".join(value_columns)
    return (
        Index(f"ix_{table}_resource_type_param_{values}", "resource_type", "param", *value_columns),
        Index(f"ix_{table}_resource_pk_param_{values}", "resource_pk", "param", *value_columns),
    )


class SearchToken(SQLModel, table=True):
    __tablename__ = "search_token"
    __table_args__ = _index_args("search_token", "code", "system")

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    system: str | None = Field(default=None, sa_type=String(512))
    code: str | None = Field(default=None, sa_type=String(512))


class SearchString(SQLModel, table=True):
    __tablename__ = "search_string"
    __table_args__ = _index_args("search_string", "value_norm")

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    value_norm: str = Field(sa_type=String(512))
    value_exact: str = Field(sa_type=String(2048))


class SearchDate(SQLModel, table=True):
    """Date ranges as microseconds since the epoch, both ends inclusive."""

    __tablename__ = "search_date"
    __table_args__ = _index_args("search_date", "low", "high")

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    low: int = Field(sa_type=BigInteger)
    high: int = Field(sa_type=BigInteger)


class SearchReference(SQLModel, table=True):
    __tablename__ = "search_reference"
    __table_args__ = (
        *_index_args("search_reference", "target_type", "target_id"),
        Index("ix_search_reference_target_type_target_id", "target_type", "target_id"),
    )

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    target_type: str | None = Field(default=None, sa_type=String(TYPE_LEN))
    target_id: str | None = Field(default=None, sa_type=String(ID_LEN))
    url: str | None = Field(default=None, sa_type=String(2048))
    identifier_system: str | None = Field(default=None, sa_type=String(512))
    identifier_value: str | None = Field(default=None, sa_type=String(512))


class SearchQuantity(SQLModel, table=True):
    __tablename__ = "search_quantity"
    __table_args__ = _index_args("search_quantity", "value")

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    value: float = Field(sa_type=Float)
    system: str | None = Field(default=None, sa_type=String(512))
    code: str | None = Field(default=None, sa_type=String(128))
    unit: str | None = Field(default=None, sa_type=String(128))


class SearchNumber(SQLModel, table=True):
    __tablename__ = "search_number"
    __table_args__ = _index_args("search_number", "value")

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    value: float = Field(sa_type=Float)


class SearchUri(SQLModel, table=True):
    __tablename__ = "search_uri"
    __table_args__ = _index_args("search_uri", "value")

    pk: int | None = _pk()
    resource_pk: int = _resource_pk()
    resource_type: str = Field(sa_type=String(TYPE_LEN))
    param: str = Field(sa_type=String(64))
    value: str = Field(sa_type=String(2048))


INDEX_TABLES = {
    "token": SearchToken,
    "string": SearchString,
    "date": SearchDate,
    "reference": SearchReference,
    "quantity": SearchQuantity,
    "number": SearchNumber,
    "uri": SearchUri,
}
