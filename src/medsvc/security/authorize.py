"""The authorization request (RFC 6749 section 4.1.1 with SMART App Launch and PKCE): what an
app asks for, checked before anyone signs in, and the one-time code it gets afterwards."""

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import Connection, insert

from medsvc.security import scopes
from medsvc.security.acting import Acting
from medsvc.security.clients import find_client, hash_secret
from medsvc.security.tables import Account, AuthorizationCode, OAuthClient

CODE_LIFETIME = timedelta(seconds=60)
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256, no padding
# The scopes' contexts each role may be granted: only a citizen has a patient in context.
CONTEXTS = {"patient": ("patient", "user"), "practitioner": ("user",), "admin": ("user",)}


class PageError(Exception):
    """A request that cannot be sent back to the app: unknown client or redirect URI."""


class RedirectError(Exception):
    """An error the app learns of by a redirect to its redirect URI (section 4.1.2.1)."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True)
class AuthorizeRequest:
    client: OAuthClient
    redirect_uri: str
    scope: str
    state: str
    code_challenge: str
    nonce: str | None

    def redirect(self, **params: str) -> str:
        separator = "&" if "?" in self.redirect_uri else "?"
        state = {"state": self.state} if self.state else {}
        return self.redirect_uri + separator + urlencode({**params, **state})


def _require(condition: bool, error: str, description: str) -> None:
    if not condition:
        raise RedirectError(error, description)


def parse_request(connection: Connection, params: dict[str, str]) -> AuthorizeRequest:
    """The request, once its client and redirect URI are known good (PageError otherwise)."""
    client = find_client(connection, params.get("client_id", ""))
    if client is None or client.kind != "app":
        raise PageError("The app is not registered with this server.")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in json.loads(client.redirect_uris):  # exact match (RFC 9700 2.1)
        raise PageError("The redirect URI is not one the app registered.")
    return AuthorizeRequest(
        client,
        redirect_uri,
        params.get("scope", ""),
        params.get("state", ""),
        params.get("code_challenge", ""),
        params.get("nonce") or None,
    )


def validate(request: AuthorizeRequest, params: dict[str, str], fhir_base: str) -> None:
    """Raises RedirectError for what the app must hear about at its redirect URI."""
    _require(params.get("response_type") == "code", "unsupported_response_type", "code only")
    _require(bool(request.state), "invalid_request", "state is required")
    # SMART App Launch 2.x: aud names the FHIR server whose data is asked for. A sign-in
    # alone (OpenID Connect, identity scopes only) asks for no data: aud is then optional.
    wants_data = not identity_only(request.scope)
    if wants_data or "aud" in params:
        _require(params.get("aud") == fhir_base, "invalid_request", f"aud must be {fhir_base}")
    _require(
        params.get("code_challenge_method") == "S256",
        "invalid_request",
        "PKCE with code_challenge_method S256 is required",
    )
    _require(
        bool(CHALLENGE.match(request.code_challenge)),
        "invalid_request",
        "code_challenge must be a base64url SHA-256",
    )
    _require(bool(scopes.split(request.scope)), "invalid_scope", "scope is required")
    try:
        scopes.narrow(request.scope, request.client.scopes, ("patient", "user"))
    except scopes.InvalidScope as error:
        raise RedirectError("invalid_scope", str(error)) from error


def granted_scopes(request: AuthorizeRequest, account: Account) -> str:
    """What the signed-in person's app gets: the request, within the app's registration and
    the person's role. Raises RedirectError when that leaves nothing."""
    granted = scopes.narrow(request.scope, request.client.scopes, CONTEXTS[account.role])
    if account.role != "patient":
        granted = [s for s in granted if s != "launch/patient"]
    if identity_only(request.scope) and "openid" in granted:
        return " ".join(granted)  # a sign-in with OpenID Connect: who, and no data
    if not [s for s in granted if s not in scopes.IDENTITY_SCOPES]:
        raise RedirectError("invalid_scope", "None of the requested scopes may be granted")
    return " ".join(granted)


def identity_only(scope: str) -> bool:
    """The request asks who the person is (OpenID Connect), for no resource access."""
    asked = scopes.split(scope)
    return bool(asked) and all(s in scopes.IDENTITY_SCOPES for s in asked)


def issue_code(
    connection: Connection,
    request: AuthorizeRequest,
    account: Account,
    now: datetime,
    acting: Acting | None = None,
) -> str:
    """The code for the app; acting names whom it acts for when not the person themselves
    (the caller checked that the person may)."""
    code = secrets.token_urlsafe(32)
    connection.execute(
        insert(AuthorizationCode).values(
            code_hash=hash_secret(code),
            client_id=request.client.client_id,
            account_id=account.id,
            redirect_uri=request.redirect_uri,
            scope=granted_scopes(request, account),
            code_challenge=request.code_challenge,
            nonce=request.nonce,
            expires=now + CODE_LIFETIME,
            patient=acting.patient_id if acting else None,
            proxy=acting.proxy_id if acting else None,
        )
    )
    return code
