"""The FHIR REST endpoint: HTTP in, a FhirRequest to the router, FHIR JSON out. Holds no rules.

One Starlette endpoint serves every path under /fhir. It resolves the caller and reads the
body on the event loop, then runs the interaction in a worker thread, the one concurrency
model of the service. FastAPI's dependency solving is bypassed here: per request it costs
more than a read from the database.
"""

from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from starlette.requests import ClientDisconnect
from starlette.routing import Route

from medsvc.db import Database
from medsvc.errors import (
    ConcurrentMatch,
    Invalid,
    PayloadTooLarge,
    Unauthorized,
    error_status,
    information,
)
from medsvc.fhir import binary, bundle, jsonio, limits
from medsvc.fhir.answers import Result
from medsvc.fhir.capability import capability_statement
from medsvc.fhir.negotiation import (
    FHIR_JSON,
    Prefer,
    body_kind,
    parse_prefer,
    require_json_body,
    wants_json,
)
from medsvc.fhir.numbers import natural
from medsvc.fhir.registry import RequestAudit
from medsvc.fhir.router import FhirRequest, dispatch, reads_only
from medsvc.fhir.server import FhirServer
from medsvc.kit.executors import Kind, in_thread
from medsvc.kit.requestlog import CLIENT_CLOSED_REQUEST
from medsvc.security.context import AuthContext, auth_context

CONTENT_TYPE = f"{FHIR_JSON}; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store"}  # health records must not sit in shared caches
# A transaction that lost a conditional create to a concurrent one is run again: the second
# run finds the winner's resource, as the client would by retrying.
BUNDLE_ATTEMPTS = 3


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes the configured limit."""
    limit = request.app.state.settings.max_body_bytes
    declared = natural(request.headers.get("content-length", ""))
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def fhir_json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body, status_code=status, media_type=CONTENT_TYPE, headers={**NO_STORE, **(headers or {})}
    )


def _parse_body(
    request: Request, method: str, path: str, body: bytes
) -> tuple[Any, list[tuple[str, str]]]:
    """The body as FHIR content, and any search parameters it carries (POST _search),
    within the limits on what one request may hold."""
    kind = body_kind(request.headers.get("content-type"))
    server: FhirServer = request.app.state.fhir
    if _posts_search(request):
        if kind not in ("form", "absent"):
            raise Invalid("POST _search takes application/x-www-form-urlencoded parameters")
        return None, _form_parameters(body, server.limits)
    if not body:
        return None, []
    if method == "PATCH":
        if kind != "patch":
            raise Invalid("PATCH takes a JSON Patch document (application/json-patch+json)")
        return limits.parse(body, server.limits), []
    if path.strip("/") == "Binary" and method == "POST" and kind not in ("json", "absent"):
        return binary.from_upload(kind, body, request.headers.get("x-security-context")), []
    require_json_body(kind)
    return limits.parse(body, server.limits), []


def _form_parameters(body: bytes, bounds: limits.Limits) -> list[tuple[str, str]]:
    """A POST _search form, refused as soon as it holds more parameters than a search may."""
    try:
        return parse_qsl(
            body.decode("utf-8", "replace"),
            keep_blank_values=True,
            max_num_fields=bounds.max_search_params,
        )
    except ValueError as error:
        raise Invalid(
            f"The search has more than {bounds.max_search_params} parameters, the limit"
        ) from error


def _fhir_request(
    request: Request, path: str, body: Any, extra: list[tuple[str, str]], prefer: Prefer
) -> FhirRequest:
    query = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("_format", "_pretty")
    ]
    if "\x00" in path or any("\x00" in k + v for k, v in query):
        raise Invalid("The URL may not contain the NUL character")
    since = request.headers.get("if-modified-since")
    try:
        modified_since = parsedate_to_datetime(since) if since else None
    except (TypeError, ValueError) as error:
        raise Invalid("If-Modified-Since is not an HTTP date") from error
    return FhirRequest(
        request.method,
        path,
        query + extra,
        body,
        if_match=request.headers.get("if-match"),
        if_none_exist=request.headers.get("if-none-exist"),
        if_none_match=request.headers.get("if-none-match"),
        if_modified_since=modified_since,
        strict=prefer.strict,
    )


def _response(server: FhirServer, result: Result, prefer: Prefer, native_ok: bool) -> Response:
    stored = result.stored
    if result.body is not None:
        return fhir_json(result.body, result.status)
    headers: dict[str, str] = {}
    if stored is not None:
        headers["ETag"] = stored.etag
        headers["Last-Modified"] = format_datetime(stored.last_updated, usegmt=True)
        if result.status == 201:
            headers["Location"] = stored.location(server.base_url)
    if result.status in (204, 304) or stored is None or stored.content is None:
        return Response(status_code=result.status, headers={**NO_STORE, **headers})
    if native_ok and stored.resource_type == "Binary":
        return binary.native_response(stored)
    if prefer.return_ == "minimal":
        return Response(status_code=result.status, headers={**NO_STORE, **headers})
    if prefer.return_ == "OperationOutcome":
        outcome = information(f"{stored.resource_type}/{stored.id} version {stored.version_id}")
        return fhir_json(jsonio.dumps(outcome), result.status, headers)
    return fhir_json(stored.content, result.status, headers)


def _metadata(request: Request) -> Response:
    server: FhirServer = request.app.state.fhir
    statement = capability_statement(server, request.app.state.security_metadata)
    return Response(jsonio.dumps(statement), media_type=CONTENT_TYPE)


def _transaction_or_batch(request: Request, body: bytes, ctx: AuthContext) -> Response:
    require_json_body(body_kind(request.headers.get("content-type")))
    server: FhirServer = request.app.state.fhir
    prefer = parse_prefer(request.headers.get("prefer"))
    database: Database = request.app.state.database
    for attempt in range(1, BUNDLE_ATTEMPTS + 1):
        # Entries are rewritten as they run, so each attempt starts from the body again.
        content = limits.parse(body, server.limits)
        kind, entries = bundle.parse_bundle(content, server.base_url, server.limits)
        run = bundle.run_transaction if kind == "transaction" else bundle.run_batch
        try:
            with database.session(write=True) as session:
                responses = run(server, session, ctx, entries, prefer.return_)
            break
        except ConcurrentMatch:
            if attempt == BUNDLE_ATTEMPTS:
                raise
    result = {"resourceType": "Bundle", "type": f"{kind}-response", "entry": responses}
    return fhir_json(jsonio.dumps(result))


def _interaction(
    request: Request, path: str, body: bytes, ctx: AuthContext, explicit_json: bool
) -> Response:
    prefer = parse_prefer(request.headers.get("prefer"))
    content, extra = _parse_body(request, request.method, path, body)
    fhir_request = _fhir_request(request, path, content, extra, prefer)
    server: FhirServer = request.app.state.fhir
    database: Database = request.app.state.database
    with database.session(write=not _is_read(request)) as session:
        result = dispatch(server, session, ctx, fhir_request)
    native_ok = not explicit_json and request.method == "GET"
    return _response(server, result, prefer, native_ok)


def handle(request: Request, body: bytes, ctx: AuthContext | None) -> Response:
    """Everything under /fhir, in a worker thread."""
    path = request.path_params.get("path", "").strip("/")
    explicit_json = wants_json(
        request.query_params.get("_format"),
        request.headers.get("accept"),
        native=path.startswith("Binary/") and request.method == "GET",
    )
    if path == "metadata" and request.method == "GET":
        return _metadata(request)
    if ctx is None:  # only the CapabilityStatement is public
        raise Unauthorized()
    if path == "" and request.method == "POST":
        return _transaction_or_batch(request, body, ctx)
    return _interaction(request, path, body, ctx, explicit_json)


async def caller_context(request: Request) -> AuthContext:
    """The AuthContext of the request, from auth_context or the app's override of it."""
    provider = request.app.dependency_overrides.get(auth_context, auth_context)
    return await provider(request)  # type: ignore[no-any-return]


def _posts_search(request: Request) -> bool:
    return request.method == "POST" and request.url.path.rstrip("/").endswith("/_search")


def _is_read(request: Request) -> bool:
    segments = [s for s in request.path_params.get("path", "").split("/") if s]
    return reads_only(request.app.state.fhir, request.method, segments)


def _reads_one_embedded(request: Request) -> bool:
    """GET Type/id or Type/id/_history/n on the embedded SQLite database.

    Such a read is a primary-key lookup in a local file that no writer can block (WAL): it
    costs less than handing it to a thread, so it runs on the event loop.
    """
    if request.method != "GET" or not request.app.state.settings.is_sqlite:
        return False
    segments = request.path_params.get("path", "").strip("/").split("/")
    if segments[0] == "Binary" or any(s[:1] in ("$", "_") for s in segments[:2]):
        return False
    return len(segments) == 2 or (len(segments) == 4 and segments[2] == "_history")


async def _respond(request: Request, ctx: AuthContext | None, body: bytes) -> Response:
    if _reads_one_embedded(request):
        return handle(request, body, ctx)
    kind: Kind = "read" if _is_read(request) else "write"
    return await in_thread(request, kind, handle, request, body, ctx)


async def fhir_endpoint(request: Request) -> Response:
    public = request.method == "GET" and request.path_params.get("path") == "metadata"
    ctx: AuthContext | None = None
    body = b""
    try:
        ctx = None if public else await caller_context(request)
        body = await read_body(request)
        response = await _respond(request, ctx, body)
    except Exception as error:
        await _audit(request, ctx, _failure_status(error), body, None)
        raise
    await _audit(request, ctx, response.status_code, body, response)
    return response


def _failure_status(error: Exception) -> int:
    """A client that hung up is answered nothing: its request failed on its side."""
    return CLIENT_CLOSED_REQUEST if isinstance(error, ClientDisconnect) else error_status(error)


async def _audit(
    request: Request, ctx: AuthContext | None, status: int, body: bytes, response: Response | None
) -> None:
    """Hands every request to the audit hook the app installed (none in a bare engine)."""
    audit: RequestAudit | None = request.app.state.fhir.registry.request_audit
    if audit is not None:
        await audit(request, ctx, status, body, response, read=_is_read(request))


FHIR_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
ROUTES = [
    Route("/fhir", fhir_endpoint, methods=["POST"]),
    Route("/fhir/{path:path}", fhir_endpoint, methods=FHIR_METHODS),
]
