"""HTTP endpoints of the authorization server: discovery, the public key set, the token
endpoint. Errors here are RFC 6749 JSON, not OperationOutcome."""

import base64
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc.db import Database
from medsvc.kit.executors import in_thread
from medsvc.security import oauth, revocation
from medsvc.security.client_auth import Caller, TokenRequest
from medsvc.security.oauth_errors import NO_STORE, OAuthError
from medsvc.security.ratelimit import RateLimiter

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status, headers, media_type="application/json")


def _error(error: OAuthError) -> Response:
    return _json(error.body(), error.status, error.headers)


async def _form(request: Request) -> dict[str, str]:
    """The request's form; RFC 6749 section 3.2 forbids repeating a parameter."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise OAuthError("invalid_request", f"The body must be {FORM}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "The request is too large")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as error:
        raise OAuthError("invalid_request", "The body is not a valid form") from error
    form = dict(pairs)
    if has_nul(form):  # no identifier or secret holds one, and PostgreSQL cannot compare it
        raise OAuthError("invalid_request", "The form may not contain the NUL character")
    if len(form) != len(pairs):
        raise OAuthError("invalid_request", "A parameter appears more than once")
    return form


def has_nul(params: dict[str, str]) -> bool:
    return any("\x00" in name or "\x00" in value for name, value in params.items())


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """Client id and secret from HTTP Basic, each form-encoded (RFC 6749 section 2.3.1)."""
    kind, _, encoded = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as error:
        raise OAuthError("invalid_client", "Malformed Basic credentials", status=401) from error
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if "\x00" in client_id + secret:
        raise OAuthError("invalid_client", "Malformed Basic credentials", status=401)
    return client_id, secret


def _authenticate(request: Request, token_request: TokenRequest) -> Caller:
    database: Database = request.app.state.database
    with database.session(write=False) as connection:
        return oauth.authenticate(connection, token_request, request.app.state.issuer)


def _issue(request: Request, token_request: TokenRequest, caller: Caller) -> dict[str, Any]:
    database: Database = request.app.state.database
    kept: OAuthError | None = None
    with database.session(write=True) as connection:
        try:
            return oauth.token(connection, token_request, request.app.state.issuer, caller)
        except OAuthError as error:
            if not error.commit:
                raise
            kept = error  # leave the block normally, so that what it revoked is committed
    request.app.state.revoked.reread_now()
    raise kept


def retry_after(request: Request) -> int | None:
    """Seconds the caller's address must wait before its next request to the authorization
    server (token, revocation, introspection, sign-in), or None when it may go on."""
    limiter: RateLimiter = request.app.state.token_limiter
    return limiter.retry_after(request.client.host if request.client else "")


def _throttle(request: Request) -> None:
    wait = retry_after(request)
    if wait is not None:
        error = OAuthError("too_many_requests", "Too many requests; retry later", status=429)
        error.retry_after = wait
        raise error


async def _token_request(request: Request) -> TokenRequest:
    _throttle(request)
    return TokenRequest(await _form(request), _basic_credentials(request))


async def token_endpoint(request: Request) -> Response:
    try:
        token_request = await _token_request(request)
        # The client is authenticated on a reader's thread, as fetching a system's registered
        # keys may take seconds; the grant then writes in a short transaction.
        caller = await in_thread(request, "read", _authenticate, request, token_request)
        issued = await in_thread(request, "write", _issue, request, token_request, caller)
    except OAuthError as error:
        return _error(error)
    return _json(issued, headers=NO_STORE)


def _revoke(request: Request, token_request: TokenRequest) -> None:
    database: Database = request.app.state.database
    with database.session(write=True) as connection:
        revocation.revoke(connection, token_request, request.app.state.issuer)
    request.app.state.revoked.reread_now()


async def revocation_endpoint(request: Request) -> Response:
    try:
        token_request = await _token_request(request)
        await in_thread(request, "write", _revoke, request, token_request)
    except OAuthError as error:
        return _error(error)
    return Response(b"", 200, NO_STORE)


def _introspect(request: Request, token_request: TokenRequest) -> dict[str, Any]:
    database: Database = request.app.state.database
    with database.session(write=False) as connection:
        return revocation.introspect(connection, token_request, request.app.state.issuer)


async def introspection_endpoint(request: Request) -> Response:
    try:
        token_request = await _token_request(request)
        found = await in_thread(request, "read", _introspect, request, token_request)
    except OAuthError as error:
        return _error(error)
    return _json(found, headers=NO_STORE)


async def smart_configuration(request: Request) -> Response:
    return _json(oauth.smart_configuration(request.app.state.auth_urls))


async def openid_configuration(request: Request) -> Response:
    return _json(oauth.openid_configuration(request.app.state.auth_urls))


async def jwks(request: Request) -> Response:
    return _json(request.app.state.signing_keys.public_jwks())


ROUTES = [
    Route("/fhir/.well-known/smart-configuration", smart_configuration, methods=["GET"]),
    Route("/auth/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
    Route("/auth/jwks", jwks, methods=["GET"]),
    Route("/auth/token", token_endpoint, methods=["POST"]),
    Route("/auth/revoke", revocation_endpoint, methods=["POST"]),
    Route("/auth/introspect", introspection_endpoint, methods=["POST"]),
]
