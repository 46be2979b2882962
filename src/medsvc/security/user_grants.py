"""The token grants of people's apps: authorization_code (with PKCE) and refresh_token, and
the token response they share (access token, refresh token, id_token, patient context)."""

import base64
import hashlib
import hmac
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update
from sqlmodel import col

from medsvc import clock
from medsvc.security import grants, refresh_tokens, scopes
from medsvc.security.acting import Acting
from medsvc.security.authorize import CONTEXTS
from medsvc.security.client_auth import Caller, TokenRequest
from medsvc.security.clients import hash_secret
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.tables import Account, AuthorizationCode, OAuthClient
from medsvc.security.tokens import USER_LIFETIME, Issuer

PROXY_CLAIM = "proxy"  # the proxy relationship a token acting for another person rests on
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")  # RFC 7636 section 4.1
OFFLINE_LIFETIME = timedelta(days=30)
ONLINE_LIFETIME = timedelta(hours=12)


def _invalid_grant(description: str, *, commit: bool = False) -> OAuthError:
    return OAuthError("invalid_grant", description, commit=commit)


def _pkce_matches(challenge: str, verifier: str | None) -> bool:
    if not verifier or not VERIFIER.match(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _find_code(connection: Connection, code: str) -> AuthorizationCode | None:
    query = select(AuthorizationCode).where(col(AuthorizationCode.code_hash) == hash_secret(code))
    row = connection.execute(query).first()
    return AuthorizationCode.model_validate(row._mapping) if row else None


def _claim_code(connection: Connection, code: AuthorizationCode, family: str) -> bool:
    result = connection.execute(
        update(AuthorizationCode)
        .where(col(AuthorizationCode.code_hash) == code.code_hash)
        .where(col(AuthorizationCode.family).is_(None))
        .values(family=family)
    )
    return result.rowcount == 1


def _account(connection: Connection, account_id: str) -> Account:
    row = connection.execute(select(Account).where(col(Account.id) == account_id)).first()
    if row is None:
        raise _invalid_grant("The account no longer exists")
    account = Account.model_validate(row._mapping)
    if account.disabled_at is not None:
        raise _invalid_grant("The account is disabled")
    return account


def authorization_code(
    connection: Connection, request: TokenRequest, issuer: Issuer, caller: Caller
) -> dict[str, Any]:
    client = caller.client  # an app: authenticate() admits no other for this grant
    code = _find_code(connection, request.form.get("code", ""))
    if code is None or code.client_id != client.client_id:
        raise _invalid_grant("The code is unknown")
    if code.family is not None:  # RFC 6749 4.1.2: a reused code revokes what it gave
        grants.revoke_grant(connection, code.family, clock.now())
        raise _invalid_grant("The code has been used before", commit=True)
    if clock.utc(code.expires) <= clock.now():
        raise _invalid_grant("The code has expired")
    if request.form.get("redirect_uri") != code.redirect_uri:
        raise _invalid_grant("redirect_uri differs from the authorization request's")
    if not _pkce_matches(code.code_challenge, request.form.get("code_verifier")):
        raise _invalid_grant("code_verifier is missing or does not match the code_challenge")
    family = str(uuid.uuid4())
    if not _claim_code(connection, code, family):
        raise _invalid_grant("The code has been used before")
    account = _account(connection, code.account_id)
    acting = _acting(code.patient, code.proxy)
    if acting is not None and not issuer.acting_for.allows(
        connection, account, acting, clock.now()
    ):
        raise _invalid_grant("The person no longer acts for that patient")
    return respond(
        connection, issuer, client, account, code.scope, family, code.nonce, acting=acting
    )


def _acting(patient: str | None, proxy: str | None) -> Acting | None:
    return Acting(patient, proxy) if patient and proxy else None


def _narrowed(requested: str | None, held: str, role: str) -> str:
    """A refresh may ask for the same scopes or fewer, never more."""
    if not requested:
        return held
    try:
        granted = scopes.narrow(requested, held, CONTEXTS[role])
    except scopes.InvalidScope as error:
        raise OAuthError("invalid_scope", str(error)) from error
    if not all(scopes.wholly_within(s, held, CONTEXTS[role]) for s in scopes.split(requested)):
        raise OAuthError("invalid_scope", "A refresh cannot add scopes")
    return " ".join(granted)


def refresh_token(
    connection: Connection, request: TokenRequest, issuer: Issuer, caller: Caller
) -> dict[str, Any]:
    client = caller.client  # an app: authenticate() admits no other for this grant
    stored = refresh_tokens.find(connection, request.form.get("refresh_token", ""))
    if stored is None or stored.client_id != client.client_id or stored.revoked:
        raise _invalid_grant("The refresh token is unknown or revoked")
    if clock.utc(stored.expires) <= clock.now():
        raise _invalid_grant("The refresh token has expired")
    if stored.used or not refresh_tokens.claim(connection, stored):
        grants.revoke_grant(connection, stored.family, clock.now())
        raise _invalid_grant("The refresh token was used before; its grant is revoked", commit=True)
    account = _account(connection, stored.account_id)
    acting = _acting(stored.patient, stored.proxy)
    if acting is not None and not issuer.acting_for.allows(
        connection, account, acting, clock.now()
    ):
        grants.revoke_grant(connection, stored.family, clock.now())
        raise _invalid_grant("The person no longer acts for that patient", commit=True)
    scope = _narrowed(request.form.get("scope"), stored.scope, account.role)
    expires = clock.utc(stored.expires)  # a family lives no longer than its first token
    return respond(connection, issuer, client, account, scope, stored.family, None, expires, acting)


def _refresh_expiry(granted: list[str], now: datetime) -> datetime | None:
    if "offline_access" in granted:
        return now + OFFLINE_LIFETIME
    if "online_access" in granted:
        return now + ONLINE_LIFETIME
    return None


def respond(
    connection: Connection,
    issuer: Issuer,
    client: OAuthClient,
    account: Account,
    scope: str,
    family: str,
    nonce: str | None,
    refresh_expires: datetime | None = None,
    acting: Acting | None = None,
) -> dict[str, Any]:
    granted = scopes.split(scope)
    claims: dict[str, Any] = {
        "sub": account.id,
        "client_id": client.client_id,
        "scope": scope,
        "role": account.role,
        grants.CLAIM: family,
    }
    if account.fhir_user:
        claims["fhirUser"] = account.fhir_user
    if account.role == "patient" and account.fhir_user:  # a citizen's own record is the context
        claims["patient"] = account.fhir_user.split("/", 1)[1]
    if acting is not None:  # or the record of the person they act for, and why they may
        claims["patient"], claims[PROXY_CLAIM] = acting.patient_id, acting.proxy_id
    access = issuer.tokens.issue(claims, USER_LIFETIME)
    body = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": USER_LIFETIME,
        "scope": scope,
    }
    if "patient" in claims:
        body["patient"] = claims["patient"]
    if "fhirUser" in granted and account.fhir_user:
        body["fhirUser"] = f"{issuer.fhir_base}/{account.fhir_user}"
    expires = refresh_expires or _refresh_expiry(granted, clock.now())
    if expires is not None:
        body["refresh_token"] = refresh_tokens.issue(
            connection, family, client.client_id, account.id, scope, expires, acting
        )
    if "openid" in granted:
        body["id_token"] = issuer.tokens.id_token(
            _identity(issuer, account, granted, nonce), client.client_id
        )
    return body


def _identity(
    issuer: Issuer, account: Account, granted: list[str], nonce: str | None
) -> dict[str, Any]:
    identity: dict[str, Any] = {"sub": account.id}
    if "fhirUser" in granted and account.fhir_user:
        identity["fhirUser"] = f"{issuer.fhir_base}/{account.fhir_user}"
    if nonce:
        identity["nonce"] = nonce
    return identity
