"""The app's server-side sessions: an opaque cookie in the browser, its row here holding the
person's tokens sealed under a key derived from the cookie (AES-256-GCM, the row's id as
associated data), so that neither the table nor the cookie alone opens them."""

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from medsvc.web.tables import WebSession

SESSION = WebSession.__table__  # type: ignore[attr-defined]
S = SESSION.c
SIGNING_IN = timedelta(minutes=10)  # from the sign-in link to the callback
# A signed-in session lasts as long as its grant's refresh tokens (online_access).
SIGNED_IN = timedelta(hours=12)
REFRESH_LEASE = timedelta(seconds=15)  # longer than a token call takes
NONCE_BYTES = 12
BATCH = 1000  # sessions deleted per transaction of the clean-up job
# Built once: every page reads its session, and building the statement costs more than
# running it.
LIVE = select(SESSION).where(S.id_hash == bindparam("id_hash"), S.expires_at > bindparam("now"))


@dataclass(frozen=True)
class Session:
    cookie: str
    fhir_user: str | None
    csrf: str
    expires_at: datetime
    secrets: dict[str, Any]  # opened: state and verifier, or the tokens

    @property
    def signed_in(self) -> bool:
        return self.fhir_user is not None and "access_token" in self.secrets


def _id_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _key(cookie: str) -> bytes:
    derive = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"medsvc web session")
    return derive.derive(cookie.encode())


def _seal(cookie: str, values: dict[str, Any]) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(_key(cookie)).encrypt(
        nonce, orjson.dumps(values), _id_hash(cookie).encode()
    )


def _open(cookie: str, sealed: bytes) -> dict[str, Any] | None:
    try:
        plain = AESGCM(_key(cookie)).decrypt(
            sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _id_hash(cookie).encode()
        )
    except InvalidTag:
        return None
    opened: dict[str, Any] = orjson.loads(plain)
    return opened


def begin_sign_in(
    connection: Connection, now: datetime, replaces: dict[str, str] | None = None
) -> tuple[str, dict[str, str]]:
    """A new session for a sign-in about to start: its cookie, and the state and PKCE
    verifier (RFC 7636) the callback must match; replaces, the session signed in now in
    this browser (its cookie and token), ended once the new sign-in succeeds."""
    cookie = secrets.token_urlsafe(32)
    values = {"state": secrets.token_urlsafe(24), "verifier": secrets.token_urlsafe(48)}
    values |= {f"replaces_{name}": value for name, value in (replaces or {}).items()}
    connection.execute(
        insert(SESSION).values(
            id_hash=_id_hash(cookie),
            created_at=now,
            expires_at=now + SIGNING_IN,
            csrf=secrets.token_urlsafe(24),
            sealed=_seal(cookie, values),
        )
    )
    return cookie, values


def find(connection: Connection, cookie: str, now: datetime) -> Session | None:
    """The live session of a cookie."""
    if not cookie or len(cookie) > 100:
        return None
    row = connection.execute(LIVE, {"id_hash": _id_hash(cookie), "now": now}).first()
    opened = _open(cookie, row.sealed) if row is not None else None
    if row is None or opened is None:
        return None
    return Session(cookie, row.fhir_user, row.csrf, row.expires_at, opened)


def signed_in(
    connection: Connection,
    signing_in: Session,
    fhir_user: str,
    tokens: dict[str, Any],
    now: datetime,
) -> str:
    """Replaces the signing-in session by a signed-in one under a new cookie (no fixation:
    a cookie planted before the sign-in is worth nothing after it)."""
    end(connection, signing_in.cookie)
    cookie = secrets.token_urlsafe(32)
    connection.execute(
        insert(SESSION).values(
            id_hash=_id_hash(cookie),
            created_at=now,
            expires_at=now + SIGNED_IN,
            fhir_user=fhir_user,
            csrf=secrets.token_urlsafe(24),
            sealed=_seal(cookie, tokens),
        )
    )
    return cookie


def lease_refresh(connection: Connection, cookie: str, now: datetime) -> bool:
    """Takes the session's refresh lease unless another request holds it."""
    free = or_(S.refreshing_until.is_(None), S.refreshing_until <= now)
    taken = connection.execute(
        update(SESSION)
        .where(S.id_hash == _id_hash(cookie), free)
        .values(refreshing_until=now + REFRESH_LEASE)
    )
    return bool(taken.rowcount)


def store_tokens(connection: Connection, cookie: str, tokens: dict[str, Any] | None) -> None:
    """Keeps refreshed tokens (None: the refresh failed; the tokens stay) and frees the lease."""
    values: dict[str, Any] = {"refreshing_until": None}
    if tokens is not None:
        values["sealed"] = _seal(cookie, tokens)
    connection.execute(update(SESSION).where(S.id_hash == _id_hash(cookie)).values(**values))


def end(connection: Connection, cookie: str) -> None:
    connection.execute(delete(SESSION).where(S.id_hash == _id_hash(cookie)))


def delete_expired(connection: Connection, now: datetime) -> int:
    """The periodic job: up to BATCH sessions past their end, signed in or not."""
    ended = select(S.id_hash).where(S.expires_at <= now).limit(BATCH)
    return connection.execute(delete(SESSION).where(S.id_hash.in_(ended))).rowcount or 0
