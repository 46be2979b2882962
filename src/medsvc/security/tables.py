"""Tables of sign-in: accounts, registered clients, client assertions already seen, codes and
tokens, revocations, and the sign-in throttle."""

from datetime import datetime

from sqlalchemy import (
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Column, Field, SQLModel

from medsvc.db import BigId


class Account(SQLModel, table=True):
    """A person who signs in: a citizen, a practitioner or an administrator."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("username", name="uq_account_username"),)

    pk: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    id: str = Field(sa_type=String(64), unique=True)
    username: str = Field(sa_type=String(128))
    role: str = Field(sa_type=String(16))
    password_hash: str = Field(sa_type=String(255))
    fhir_user: str | None = Field(default=None, sa_type=String(140))  # Patient/… or Practitioner/…
    totp_secret: str | None = Field(default=None, sa_type=String(64))  # RFC 6238 shared key
    totp_last_step: int | None = Field(default=None, sa_type=BigId)  # each code is spent once
    disabled_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created: datetime = Field(sa_type=DateTime(timezone=True))


class OAuthClient(SQLModel, table=True):
    """An app (public with PKCE, or confidential) or a hospital system (backend services)."""

    __tablename__ = "oauth_client"

    pk: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    client_id: str = Field(sa_type=String(64), unique=True)
    name: str = Field(sa_type=String(200))
    kind: str = Field(sa_type=String(16))  # "app" or "system"
    secret_hash: str | None = Field(default=None, sa_type=String(255))
    redirect_uris: str = Field(default="[]", sa_type=Text)  # JSON list, matched exactly
    scopes: str = Field(sa_type=Text)  # the scopes it may be granted, space-separated
    organization: str | None = Field(default=None, sa_type=String(140))
    jwks: str | None = Field(default=None, sa_type=Text)  # registered public keys (JSON)
    jwks_url: str | None = Field(default=None, sa_type=String(2000))
    created: datetime = Field(sa_type=DateTime(timezone=True))


class UsedAssertion(SQLModel, table=True):
    """A client assertion's jti, kept until the assertion expires, so it is accepted once."""

    __tablename__ = "used_assertion"
    __table_args__ = (Index("ix_used_assertion_expires", "expires"),)

    issuer: str = Field(sa_type=String(64), primary_key=True)
    jti: str = Field(sa_type=String(255), primary_key=True)
    expires: datetime = Field(sa_type=DateTime(timezone=True))


class AuthorizationCode(SQLModel, table=True):
    """A code handed to an app after sign-in; stored as its hash, exchanged at most once."""

    __tablename__ = "authorization_code"
    __table_args__ = (Index("ix_authorization_code_proxy", "proxy"),)

    code_hash: str = Field(sa_type=String(64), primary_key=True)
    client_id: str = Field(sa_type=String(64))
    account_id: str = Field(sa_type=String(64))
    redirect_uri: str = Field(sa_type=String(2000))
    scope: str = Field(sa_type=Text)
    code_challenge: str = Field(sa_type=String(128))
    nonce: str | None = Field(default=None, sa_type=String(255))
    expires: datetime = Field(sa_type=DateTime(timezone=True))
    family: str | None = Field(default=None, sa_type=String(64))  # set when exchanged
    # Whom the person acts for when it is not themselves: the patient, and the proxy
    # relationship that allows it (checked again at every refresh, revoked with it).
    patient: str | None = Field(default=None, sa_type=String(64))
    proxy: str | None = Field(default=None, sa_type=String(64))


class RefreshToken(SQLModel, table=True):
    """One refresh token of a family that rotates on every use; stored as its hash."""

    __tablename__ = "refresh_token"
    __table_args__ = (
        Index("ix_refresh_token_family", "family"),
        Index("ix_refresh_token_proxy", "proxy"),
    )

    token_hash: str = Field(sa_type=String(64), primary_key=True)
    family: str = Field(sa_type=String(64))
    client_id: str = Field(sa_type=String(64))
    account_id: str = Field(sa_type=String(64))
    scope: str = Field(sa_type=Text)
    expires: datetime = Field(sa_type=DateTime(timezone=True))
    used: bool = Field(default=False)
    revoked: bool = Field(default=False)
    patient: str | None = Field(default=None, sa_type=String(64))  # as its code's
    proxy: str | None = Field(default=None, sa_type=String(64))


class RevokedAccessToken(SQLModel, table=True):
    """An access token revoked before it expired (RFC 7009), by its jti."""

    __tablename__ = "revoked_access_token"
    __table_args__ = (Index("ix_revoked_access_token_expires", "expires"),)

    jti: str = Field(sa_type=String(64), primary_key=True)
    expires: datetime = Field(sa_type=DateTime(timezone=True))


class RevokedGrant(SQLModel, table=True):
    """A grant (what one sign-in gave one app) revoked as a whole: every access token it
    issued is refused until the last of them would have expired."""

    __tablename__ = "revoked_grant"
    __table_args__ = (Index("ix_revoked_grant_expires", "expires"),)

    grant_id: str = Field(sa_type=String(64), primary_key=True)
    expires: datetime = Field(sa_type=DateTime(timezone=True))


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins from one address, or for one username from one address, and until
    when the next attempt must wait."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (Index("ix_sign_in_throttle_username", "username"),)

    key: str = Field(sa_type=String(80), primary_key=True)
    username: str | None = Field(default=None, sa_type=String(128))  # None: the address's count
    address: str = Field(sa_type=String(64))
    failures: int = Field(sa_type=Integer)
    last_failure: datetime = Field(sa_type=DateTime(timezone=True))
    locked_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class PatientChoice(SQLModel, table=True):
    """A person signed in who acts for others too, choosing whom for this app (SMART's patient
    picker): the authorization request waits here, bound to the browser, for minutes."""

    __tablename__ = "patient_choice"
    __table_args__ = (Index("ix_patient_choice_expires", "expires"),)

    id_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    account_id: str = Field(sa_type=String(64))
    browser_hash: str = Field(sa_type=String(64))  # SHA-256 of the sign-in cookie's secret
    params: str = Field(sa_type=String(8000))  # the app's authorization request (JSON)
    expires: datetime = Field(sa_type=DateTime(timezone=True))


class SigninMemory(SQLModel, table=True):
    """That a browser signed a person in to an app whose grant is still alive, so that the app
    may send them back to SMART's patient picker to act for someone else without their
    password again (OpenID Connect's prompt=select_account). One per browser and app."""

    __tablename__ = "signin_memory"
    __table_args__ = (
        PrimaryKeyConstraint("browser_hash", "client_id", name="pk_signin_memory"),
        Index("ix_signin_memory_expires", "expires"),
    )

    browser_hash: str = Field(sa_type=String(64))  # SHA-256 of the sign-in cookie's secret
    client_id: str = Field(sa_type=String(64))
    account_id: str = Field(sa_type=String(64))
    code_hash: str = Field(sa_type=String(64))  # the code whose grant must still be alive
    expires: datetime = Field(sa_type=DateTime(timezone=True))
