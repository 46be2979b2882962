"""The app's own tables: its sessions (the browser holds only an opaque cookie; its tokens stay
here, sealed with a key derived from that cookie, so the table alone opens none of them), and
which results each person has opened (the list's "new")."""

from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, String
from sqlmodel import Column, Field, SQLModel


class WebSession(SQLModel, table=True):
    """A browser's session: signing in (state and PKCE verifier) or signed in (tokens)."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_expires_at", "expires_at"),)

    # SHA-256 of the cookie's value: a stolen table names no live cookie.
    id_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    # Whom the tokens act for: "Patient/…" or "Practitioner/…" (the token's fhirUser).
    fhir_user: str | None = Field(default=None, sa_type=String(200))
    # The synchronizer token every form of the session carries (CSRF).
    csrf: str = Field(sa_type=String(64))
    # One request of the session refreshes its tokens at a time, in whichever process: it
    # holds this lease while it calls the token endpoint (a refresh token is used once).
    refreshing_until: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # AES-GCM under the cookie's key: {"state", "verifier"} while signing in, then
    # {"access_token", "refresh_token", "access_expires"}.
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class WebSeenResult(SQLModel, table=True):
    """A report the person has opened in the app: it is no longer new to them."""

    __tablename__ = "web_seen_result"

    fhir_user: str = Field(sa_column=Column(String(200), primary_key=True))
    resource: str = Field(sa_column=Column(String(200), primary_key=True))
    seen_at: datetime = Field(sa_type=DateTime(timezone=True))
