"""Routes a FHIR request (method, path, query, body) to its interaction. HTTP-free.

Both the REST routes and the entries of transaction and batch Bundles come through here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from medsvc.errors import Invalid, MethodNotAllowed, NotFound
from medsvc.fhir import conditional, history, interactions
from medsvc.fhir.interactions import Result
from medsvc.fhir.registry import OperationCall
from medsvc.fhir.search import run as search_run
from medsvc.fhir.search import searchset
from medsvc.fhir.server import FhirServer
from medsvc.security import scopes
from medsvc.security.context import AuthContext


@dataclass
class FhirRequest:
    method: str
    path: str  # relative to the FHIR base, e.g. "Patient/1/_history/2"
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None
    if_match: str | None = None
    if_none_exist: str | None = None
    if_none_match: str | None = None
    if_modified_since: datetime | None = None
    strict: bool = False

    @property
    def segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]


Handler = Callable[[FhirServer, Connection, AuthContext, FhirRequest, list[str]], Result]


def dispatch(
    server: FhirServer, session: Connection, ctx: AuthContext, request: FhirRequest
) -> Result:
    segments = request.segments
    if segments and segments[-1].startswith("$"):
        return _operation(server, session, ctx, request, segments)
    handler: Handler | None = _HANDLERS.get((request.method, len(segments)))
    if handler is None:
        raise MethodNotAllowed(f"{request.method} is not supported on '{request.path}'")
    return handler(server, session, ctx, request, segments)


def _search(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    resource_type = segments[0]
    scopes.require(ctx, resource_type, "search")
    parsed = search_run.parse(server, resource_type, request.query, strict=request.strict)
    page = search_run.run(server, session, ctx, parsed)
    return Result(200, body=searchset.render(server.base_url, parsed, page))


def _get_two(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    resource_type, second = segments
    if second == "_history":
        return history.history(server, session, ctx, resource_type, None, request.query)
    result = interactions.read(server, session, ctx, resource_type, second)
    return _conditional_read(request, result)


def _conditional_read(request: FhirRequest, result: Result) -> Result:
    stored = result.stored
    assert stored is not None
    if request.if_none_match is not None:
        tags = [t.strip() for t in request.if_none_match.split(",")]
        if stored.etag in tags or f'"{stored.version_id}"' in tags or "*" in tags:
            return Result(304, stored)
    elif (
        request.if_modified_since is not None
        and stored.last_updated.replace(microsecond=0) <= request.if_modified_since
    ):
        return Result(304, stored)
    return result


def _get_three(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    resource_type, resource_id, third = segments
    if third != "_history":
        raise NotFound(f"Unknown path '{request.path}'")
    return history.history(server, session, ctx, resource_type, resource_id, request.query)


def _vread(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    resource_type, resource_id, third, version = segments
    if third != "_history":
        raise NotFound(f"Unknown path '{request.path}'")
    return interactions.vread(server, session, ctx, resource_type, resource_id, version)


def _post_type(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    if request.if_none_exist:
        return conditional.create(
            server, session, ctx, segments[0], request.body, request.if_none_exist
        )
    return interactions.create(server, session, ctx, segments[0], request.body)


def _post_two(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    if segments[1] != "_search":
        raise MethodNotAllowed(f"POST is not supported on '{request.path}'")
    return _search(server, session, ctx, request, segments[:1])


def _put_type(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    if not request.query:
        raise MethodNotAllowed("PUT needs an id or a search condition: Type/id or Type?query")
    return conditional.update_matching(
        server, session, ctx, segments[0], _query_text(request), request.body, request.if_match
    )


def _query_text(request: FhirRequest) -> str:
    return urlencode(request.query)


def _put(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    return interactions.update(
        server, session, ctx, segments[0], segments[1], request.body, request.if_match
    )


def _patch(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    return interactions.patch(
        server, session, ctx, segments[0], segments[1], request.body, request.if_match
    )


def _delete(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    return interactions.delete(server, session, ctx, segments[0], segments[1])


def _delete_type(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    if not request.query:
        raise MethodNotAllowed("DELETE needs an id or a search condition: Type/id or Type?query")
    return conditional.delete_matching(server, session, ctx, segments[0], _query_text(request))


def _operation(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    name = segments[-1][1:]
    level = {1: "system", 2: "type", 3: "instance"}.get(len(segments))
    resource_type = segments[0] if len(segments) > 1 else None
    if resource_type is not None:
        server.definition(resource_type, "read")
    operation = server.registry.operation(name, level or "", resource_type)
    if operation is None:
        raise NotFound(f"The operation ${name} is not supported on '{request.path}'")
    if request.method not in ("GET", "POST") or (
        operation.affects_state and request.method == "GET"
    ):
        raise MethodNotAllowed(f"${name} is not invoked with {request.method}")
    return operation.handler(
        OperationCall(
            server,
            session,
            ctx,
            resource_type,
            segments[1] if len(segments) == 3 else None,
            request.method,
            request.query,
            request.body,
        )
    )


def _search_all(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    request: FhirRequest,
    segments: list[str],
) -> Result:
    raise Invalid("Searching across all types is not supported; search one resource type")


_HANDLERS: dict[tuple[str, int], Handler] = {
    ("GET", 0): _search_all,
    ("GET", 1): _search,
    ("GET", 2): _get_two,
    ("GET", 3): _get_three,
    ("GET", 4): _vread,
    ("POST", 1): _post_type,
    ("POST", 2): _post_two,
    ("PUT", 1): _put_type,
    ("PUT", 2): _put,
    ("PATCH", 2): _patch,
    ("DELETE", 1): _delete_type,
    ("DELETE", 2): _delete,
}
