"""Tables of identity: the identity an account proved (keyed hashes for lookup, sealed copies),
one-time phone codes, and the counters that bound how many codes anyone may ask for."""

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlmodel import Column, Field, SQLModel


class AccountIdentity(SQLModel, table=True):
    """Who an account's person is: one identity document, held as a keyed hash (blind index)
    for lookup and sealed with the patient's data key, and the keyed hash of the verified
    mobile number (the account's username, which codes are sent to)."""

    __tablename__ = "account_identity"
    __table_args__ = (
        UniqueConstraint("document_key", name="uq_account_identity_document_key"),
        UniqueConstraint("phone_key", name="uq_account_identity_phone_key"),
    )

    account_id: str = Field(sa_column=Column(String(64), primary_key=True))
    patient_id: str = Field(sa_type=String(64))
    document_kind: str = Field(sa_type=String(16))
    document_key: str = Field(sa_type=String(64))
    sealed_document: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    phone_key: str = Field(sa_type=String(64))
    # How sure the service is that the person is who the document names (docs/identity.md).
    assurance: str = Field(sa_type=String(32))
    provider: str = Field(sa_type=String(64))  # the verification provider that decided
    verified_at: datetime = Field(sa_type=DateTime(timezone=True))


class PhoneCode(SQLModel, table=True):
    """A one-time code sent to a mobile number for one purpose and one claim; stored as a
    keyed hash, spent once, dead after its tries or its minutes."""

    __tablename__ = "phone_code"
    __table_args__ = (Index("ix_phone_code_expires", "expires"),)

    code_id: str = Field(sa_column=Column(String(32), primary_key=True))
    purpose: str = Field(sa_type=String(32))
    phone_key: str = Field(sa_type=String(64))
    # Keyed hash of the code with what it was sent for (the claim): a code proves the number
    # only for the details it was asked with.
    code_hash: str = Field(sa_type=String(64))
    tries_left: int = Field(sa_type=Integer)
    expires: datetime = Field(sa_type=DateTime(timezone=True))
    spent_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class CodeQuota(SQLModel, table=True):
    """How many codes one number, address or identity asked for in the current window."""

    __tablename__ = "code_quota"
    __table_args__ = (Index("ix_code_quota_window_start", "window_start"),)

    key: str = Field(sa_column=Column(String(120), primary_key=True))
    window_start: datetime = Field(sa_type=DateTime(timezone=True))
    count: int = Field(sa_type=Integer)


class ExternalIdentity(SQLModel, table=True):
    """A person's account at an OpenID Connect provider, linked to their account here after a
    code to the account's mobile number proved it is theirs."""

    __tablename__ = "external_identity"
    __table_args__ = (Index("ix_external_identity_account_id", "account_id"),)

    issuer: str = Field(sa_column=Column(String(255), primary_key=True))
    subject: str = Field(sa_column=Column(String(255), primary_key=True))
    account_id: str = Field(sa_type=String(64))
    linked_at: datetime = Field(sa_type=DateTime(timezone=True))


class OidcPending(SQLModel, table=True):
    """A sign-in sent to an OpenID Connect provider and not back yet, or back and waiting for
    its link to an account: bound to one browser, alive for minutes."""

    __tablename__ = "oidc_pending"
    __table_args__ = (Index("ix_oidc_pending_expires", "expires"),)

    state_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    browser_hash: str = Field(sa_type=String(64))  # SHA-256 of the sign-in cookie's secret
    nonce: str = Field(sa_type=String(64))
    verifier: str = Field(sa_type=String(64))
    params: str = Field(sa_type=String(8000))  # the app's authorization request (JSON)
    subject: str | None = Field(default=None, sa_type=String(255))  # set once the provider said
    expires: datetime = Field(sa_type=DateTime(timezone=True))
