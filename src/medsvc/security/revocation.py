"""Revocation (RFC 7009) and introspection (RFC 7662) at the authorization server, and the
revoked access tokens and grants every process checks, re-read at most once a second."""

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
from medsvc.security import grants, refresh_tokens
from medsvc.security.client_auth import TokenRequest, authenticate_app
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.tables import OAuthClient, RevokedAccessToken, RevokedGrant
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


def revoke(connection: Connection, request: TokenRequest, issuer: Issuer) -> None:
    """Revokes the caller's own token: a refresh token's whole grant, access tokens included,
    or one access token. Unknown, foreign or expired tokens are answered the same way, with
    success (RFC 7009 2.2)."""
    client = authenticate_app(connection, request)
    token = _token(request)
    stored = refresh_tokens.find(connection, token)
    if stored is not None and stored.client_id == client.client_id:
        grants.revoke_grant(connection, stored.family, clock.now())
        return
    claims = _access_claims(issuer, token)
    if claims is None or claims.get("client_id") != client.client_id:
        return
    try:
        with connection.begin_nested():
            connection.execute(
                insert(RevokedAccessToken).values(
                    jti=claims["jti"], expires=datetime.fromtimestamp(claims["exp"], UTC)
                )
            )
    except exc.IntegrityError:
        pass  # revoked before: the outcome is the same


def _is_revoked(connection: Connection, claims: dict[str, Any]) -> bool:
    jti = select(col(RevokedAccessToken.jti)).where(col(RevokedAccessToken.jti) == claims["jti"])
    grant = select(col(RevokedGrant.grant_id)).where(
        col(RevokedGrant.grant_id) == str(claims.get(grants.CLAIM))
    )
    return any(connection.execute(query).first() is not None for query in (jti, grant))


def introspect(connection: Connection, request: TokenRequest, issuer: Issuer) -> dict[str, Any]:
    """What the caller's own token grants, or only {"active": false}."""
    client: OAuthClient = authenticate_app(connection, request)
    token = _token(request)
    claims = _access_claims(issuer, token)
    if claims is not None and claims.get("client_id") == client.client_id:
        if _is_revoked(connection, claims):
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
    """The jtis of revoked access tokens and the ids of revoked grants that may still have
    unexpired access tokens, as this process last read them."""

    def __init__(self, database: Database):
        self.database = database
        self._jtis: frozenset[str] = frozenset()
        self._grants: frozenset[str] = frozenset()
        self._stale_at = 0.0
        self._lock = threading.Lock()

    def _reread(self) -> None:
        now = clock.now()
        jtis = select(col(RevokedAccessToken.jti)).where(col(RevokedAccessToken.expires) > now)
        grant_ids = select(col(RevokedGrant.grant_id)).where(col(RevokedGrant.expires) > now)
        with self.database.session(write=False) as connection:
            revoked = frozenset(str(row[0]) for row in connection.execute(jtis))
            revoked_grants = frozenset(str(row[0]) for row in connection.execute(grant_ids))
        with self._lock:
            self._jtis, self._grants = revoked, revoked_grants
            self._stale_at = time.monotonic() + REREAD_SECONDS

    def reread_now(self) -> None:
        """After this process revoked something: its next check reads the database, so the
        revocation takes effect here at once; the others see it at their next re-read."""
        with self._lock:
            self._stale_at = 0.0

    async def refuses(self, claims: dict[str, Any], executor: Executor) -> bool:
        """True when the access token, or the grant it was issued under, is revoked."""
        if time.monotonic() >= self._stale_at:
            await asyncio.get_running_loop().run_in_executor(executor, self._reread)
        grant_id = claims.get(grants.CLAIM)
        return claims.get("jti") in self._jtis or (
            grant_id is not None and grant_id in self._grants
        )
