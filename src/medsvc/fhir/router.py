"""Routes a FHIR request (method, path, query, body) to its interaction. HTTP-free.

Both the REST routes and the entries of transaction and batch Bundles come through here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection

from medsvc.errors import Invalid, MethodNotAllowed, NotFound
from medsvc.fhir import conditional, history, interactions
from medsvc.fhir.answers import Result
from medsvc.fhir.registry import Operation, OperationCall
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


@dataclass(frozen=True)
class Call:
    """One request on its way to an interaction, with who makes it and where it runs."""

    server: FhirServer
    session: Connection
    ctx: AuthContext
    request: FhirRequest

    @property
    def segments(self) -> list[str]:
        return self.request.segments


Handler = Callable[[Call], Result]


def dispatch(
    server: FhirServer, session: Connection, ctx: AuthContext, request: FhirRequest
) -> Result:
    call = Call(server, session, ctx, request)
    segments = request.segments
    if segments and segments[-1].startswith("$"):
        return _operation(call)
    route = _ROUTES.get((request.method, len(segments)))
    if route is None:
        raise MethodNotAllowed(f"{request.method} is not supported on '{request.path}'")
    return route[0](call)


def _search(c: Call) -> Result:
    resource_type = c.segments[0]
    scopes.require(c.ctx, resource_type, "search")
    parsed = search_run.parse(c.server, resource_type, c.request.query, strict=c.request.strict)
    page = search_run.run(c.server, c.session, c.ctx, parsed)
    return Result(200, body=searchset.render(c.server.base_url, parsed, page))


def _read_or_type_history(c: Call) -> Result:
    resource_type, second = c.segments
    if second == "_history":
        return history.history(c.server, c.session, c.ctx, resource_type, None, c.request.query)
    result = interactions.read(c.server, c.session, c.ctx, resource_type, second)
    return _conditional_read(c.request, result)


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


def _require_history(c: Call, position: int) -> None:
    if c.segments[position] != "_history":
        raise NotFound(f"Unknown path '{c.request.path}'")


def _instance_history(c: Call) -> Result:
    _require_history(c, 2)
    resource_type, resource_id, _ = c.segments
    return history.history(c.server, c.session, c.ctx, resource_type, resource_id, c.request.query)


def _vread(c: Call) -> Result:
    _require_history(c, 2)
    resource_type, resource_id, _, version = c.segments
    return interactions.vread(c.server, c.session, c.ctx, resource_type, resource_id, version)


def _create(c: Call) -> Result:
    resource_type, body = c.segments[0], c.request.body
    if c.request.if_none_exist:
        return conditional.create(
            c.server, c.session, c.ctx, resource_type, body, c.request.if_none_exist
        )
    return interactions.create(c.server, c.session, c.ctx, resource_type, body)


def _search_by_post(c: Call) -> Result:
    if c.segments[1] != "_search":
        raise MethodNotAllowed(f"POST is not supported on '{c.request.path}'")
    return _search(c)


def _condition(c: Call, method: str) -> str:
    """The search condition of PUT/DELETE Type?query; one is needed without an id."""
    if not c.request.query:
        raise MethodNotAllowed(f"{method} needs an id or a search condition: Type/id or Type?query")
    return urlencode(c.request.query)


def _update_matching(c: Call) -> Result:
    condition = _condition(c, "PUT")
    return conditional.update_matching(
        c.server, c.session, c.ctx, c.segments[0], condition, c.request.body, c.request.if_match
    )


def _update(c: Call) -> Result:
    return _write_instance(c, interactions.update)


def _patch(c: Call) -> Result:
    return _write_instance(c, interactions.patch)


def _write_instance(c: Call, write: Callable[..., Result]) -> Result:
    """PUT or PATCH of Type/id: the body and If-Match go to the interaction."""
    resource_type, resource_id = c.segments
    return write(
        c.server, c.session, c.ctx, resource_type, resource_id, c.request.body, c.request.if_match
    )


def _delete(c: Call) -> Result:
    resource_type, resource_id = c.segments
    return interactions.delete(c.server, c.session, c.ctx, resource_type, resource_id)


def _delete_matching(c: Call) -> Result:
    condition = _condition(c, "DELETE")
    return conditional.delete_matching(c.server, c.session, c.ctx, c.segments[0], condition)


def _operation_at(server: FhirServer, segments: list[str]) -> Operation | None:
    """The operation a path ending in $name invokes, at its level and type."""
    level = {1: "system", 2: "type", 3: "instance"}.get(len(segments), "")
    resource_type = segments[0] if len(segments) > 1 else None
    return server.registry.operation(segments[-1][1:], level, resource_type)


def reads_only(server: FhirServer, method: str, segments: list[str]) -> bool:
    """True for a request that cannot change anything: a GET, a search by POST, or an
    operation declared not to affect state ($find). Its unit of work is a read, which on
    SQLite neither waits for nor holds up the one writer."""
    if method == "GET":
        return True
    if method != "POST" or not segments:
        return False
    if segments[-1] == "_search":
        return True
    operation = _operation_at(server, segments) if segments[-1].startswith("$") else None
    return operation is not None and not operation.affects_state


def _operation(c: Call) -> Result:
    segments, method = c.segments, c.request.method
    name = segments[-1][1:]
    resource_type = segments[0] if len(segments) > 1 else None
    if resource_type is not None:
        c.server.definition(resource_type, "read")
    operation = _operation_at(c.server, segments)
    if operation is None:
        raise NotFound(f"The operation ${name} is not supported on '{c.request.path}'")
    if method not in ("GET", "POST") or (operation.affects_state and method == "GET"):
        raise MethodNotAllowed(f"${name} is not invoked with {method}")
    resource_id = segments[1] if len(segments) == 3 else None
    return operation.handler(
        OperationCall(
            c.server,
            c.session,
            replace(c.ctx, operation=operation.name),
            resource_type,
            resource_id,
            method,
            c.request.query,
            c.request.body,
        )
    )


def _search_all(_c: Call) -> Result:
    raise Invalid("Searching across all types is not supported; search one resource type")


# Each route: its handler, and its restful-interaction code (what the audit trail records).
_ROUTES: dict[tuple[str, int], tuple[Handler, str]] = {
    ("GET", 0): (_search_all, "search-system"),
    ("GET", 1): (_search, "search-type"),
    ("GET", 2): (_read_or_type_history, "read"),
    ("GET", 3): (_instance_history, "history-instance"),
    ("GET", 4): (_vread, "vread"),
    ("POST", 1): (_create, "create"),
    ("POST", 2): (_search_by_post, "search-type"),
    ("PUT", 1): (_update_matching, "update"),
    ("PUT", 2): (_update, "update"),
    ("PATCH", 2): (_patch, "patch"),
    ("DELETE", 1): (_delete_matching, "delete"),
    ("DELETE", 2): (_delete, "delete"),
}


def interaction(method: str, segments: list[str]) -> str:
    """The restful-interaction code of a request, by the route dispatch() takes; a POST to
    the base is a transaction or batch Bundle (bundle.py)."""
    if segments and segments[-1].startswith("$"):
        return "operation"
    if method == "GET" and segments[1:] == ["_history"]:
        return "history-type"
    if method == "POST" and not segments:
        return "transaction"
    route = _ROUTES.get((method, len(segments)))
    return route[1] if route else method.lower()
