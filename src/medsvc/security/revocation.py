"""Revocation (RFC 7009) and introspection (RFC 7662) at the authorization server, and the
list of revoked access tokens every process checks, re-read at most once a second."""

import asyncio
import threading
import time
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, exc, insert, select
from sqlmodel import col

from medsvc import clock
from medsvc.db import Database
from medsvc.errors import Unauthorized
from medsvc.security import refresh_tokens
from medsvc.security.client_auth import TokenRequest, authenticate_app
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.tables import OAuthClient, RevokedAccessToken
from medsvc.security.tokens import Issuer

REREAD_SECONDS = 1.0
INTROSPECTED = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "patient", "fhirUser")


def _token(request: TokenRequest) -> str:
    token = request.form.get("token")
    if not token:
        raise OAuthError("invalid_request", "token is required")
    return token


def _access_claims(issuer: Issuer, token: str) -> dict[str, Any] | None:
    try:
        return issuer.tokens.verify_access_token(token)
    except Unauthorized:
        return None


def revoke(connection: Connection, request: TokenRequest, issuer: Issuer) -> str | None:
    """Revokes the caller's own token; returns the jti of a revoked access token. Unknown,
    foreign or expired tokens are answered the same way, with success (RFC 7009 2.2)."""
    client = authenticate_app(connection, request)
    token = _token(request)
    stored = refresh_tokens.find(connection, token)
    if stored is not None and stored.client_id == client.client_id:
        refresh_tokens.revoke_family(connection, stored.family)
        return None
    claims = _access_claims(issuer, token)
    if claims is None or claims.get("client_id") != client.client_id:
        return None
    try:
        with connection.begin_nested():
            connection.execute(
                insert(RevokedAccessToken).values(
                    jti=claims["jti"], expires=datetime.fromtimestamp(claims["exp"], UTC)
                )
            )
    except exc.IntegrityError:
        pass  # revoked before: the outcome is the same
    return str(claims["jti"])


def _is_revoked(connection: Connection, jti: str) -> bool:
    query = select(col(RevokedAccessToken.jti)).where(col(RevokedAccessToken.jti) == jti)
    return connection.execute(query).first() is not None


def introspect(connection: Connection, request: TokenRequest, issuer: Issuer) -> dict[str, Any]:
    """What the caller's own token grants, or only {"active": false}."""
    client: OAuthClient = authenticate_app(connection, request)
    token = _token(request)
    claims = _access_claims(issuer, token)
    if claims is not None and claims.get("client_id") == client.client_id:
        if _is_revoked(connection, str(claims["jti"])):
            return {"active": False}
        shown = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "patient", "fhirUser")
        return {
            "active": True,
            "token_type": "Bearer",
            **{k: claims[k] for k in shown if k in claims},
        }
    stored = refresh_tokens.find(connection, token)
    usable = stored is not None and not (stored.used or stored.revoked)
    if stored is None or not usable or stored.client_id != client.client_id:
        return {"active": False}
    if clock.utc(stored.expires) <= clock.now():
        return {"active": False}
    expires = int(clock.utc(stored.expires).timestamp())
    return {
        "active": True,
        "token_type": "refresh_token",
        "scope": stored.scope,
        "client_id": stored.client_id,
        "sub": stored.account_id,
        "exp": expires,
    }


class RevokedTokens:
    """The jtis of revoked access tokens that have not expired, as this process last read them."""

    def __init__(self, database: Database):
        self.database = database
        self._jtis: frozenset[str] = frozenset()
        self._stale_at = 0.0
        self._lock = threading.Lock()

    def _reread(self) -> None:
        query = select(col(RevokedAccessToken.jti)).where(
            col(RevokedAccessToken.expires) > clock.now()
        )
        with self.database.session(write=False) as connection:
            jtis = frozenset(str(row[0]) for row in connection.execute(query))
        with self._lock:
            self._jtis, self._stale_at = jtis, time.monotonic() + REREAD_SECONDS

    def add(self, jti: str) -> None:
        """Takes effect at once in this process; the others see it at their next re-read."""
        with self._lock:
            self._jtis = self._jtis | {jti}

    async def contains(self, jti: str, executor: Executor) -> bool:
        if time.monotonic() >= self._stale_at:
            await asyncio.get_running_loop().run_in_executor(executor, self._reread)
        return jti in self._jtis
