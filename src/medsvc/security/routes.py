"""HTTP endpoints of the authorization server: discovery, the public key set, the token
endpoint. Errors here are RFC 6749 JSON, not OperationOutcome."""

import asyncio
import contextvars
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc.db import Database
from medsvc.security import oauth
from medsvc.security.oauth_errors import NO_STORE, OAuthError

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
    if len(form) != len(pairs):
        raise OAuthError("invalid_request", "A parameter appears more than once")
    return form


def _issue(request: Request, form: dict[str, str]) -> dict[str, Any]:
    database: Database = request.app.state.database
    with database.session(write=True) as connection:
        return oauth.token(connection, form, request.app.state.auth_urls, request.app.state.tokens)


async def token_endpoint(request: Request) -> Response:
    try:
        form = await _form(request)
        loop = asyncio.get_running_loop()
        executor = request.app.state.executors["write"]
        context = contextvars.copy_context()
        issued = await loop.run_in_executor(executor, context.run, _issue, request, form)
    except OAuthError as error:
        return _error(error)
    return _json(issued, headers=NO_STORE)


async def smart_configuration(request: Request) -> Response:
    return _json(oauth.smart_configuration(request.app.state.auth_urls))


async def jwks(request: Request) -> Response:
    return _json(request.app.state.signing_keys.public_jwks())


ROUTES = [
    Route("/fhir/.well-known/smart-configuration", smart_configuration, methods=["GET"]),
    Route("/auth/jwks", jwks, methods=["GET"]),
    Route("/auth/token", token_endpoint, methods=["POST"]),
]
