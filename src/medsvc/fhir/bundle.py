"""Transaction and batch Bundles (http.html#transaction) posted to the FHIR base.

A transaction runs every entry in the caller's unit of work, in FHIR processing order
(DELETE, POST, PUT/PATCH, GET), after giving each new resource its id and rewriting every
urn:uuid and conditional reference: one failure fails the whole Bundle. A batch runs each
entry in its own savepoint and reports each outcome separately.
"""

import base64
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import Connection

from medsvc.errors import ConcurrentMatch, Invalid, MedsvcError, MultipleMatches, NotFound
from medsvc.fhir import (
    conditional,
    interactions,
    jsonio,
    limits,
    pending,
    references,
    validation,
)
from medsvc.fhir.answers import Result
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.limits import Limits
from medsvc.fhir.router import FhirRequest, dispatch
from medsvc.fhir.search.run import find_matches
from medsvc.fhir.server import FhirServer
from medsvc.security import scopes
from medsvc.security.context import AuthContext

ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3}


@dataclass
class Entry:
    index: int
    method: str
    url: str
    full_url: str | None
    resource: Any
    if_none_exist: str | None
    if_match: str | None
    if_none_match: str | None
    assigned_id: str | None = None
    existing: Result | None = None
    update_id: str | None = None  # the id a conditional update creates under, if nothing matches
    limits: Limits = field(default_factory=Limits)  # what a PATCH entry's document may hold

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    """An optional string element of an entry or its request; a 400 naming it otherwise."""
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise Invalid(f"{where}.{key} must be a string", expression=f"{where}.{key}")
    return value


def _parse_entry(index: int, raw: Any, base_url: str) -> Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise Invalid(f"{where} has no request", expression=f"{where}.request")
    request = raw["request"]
    method, url = _text(request, "method", f"{where}.request"), request.get("url")
    if method not in ORDER or not isinstance(url, str) or not url:
        raise Invalid(
            f"{where}.request needs a method (GET, POST, PUT, PATCH, DELETE) and a url",
            expression=f"{where}.request",
        )
    if method in ("POST", "PUT") and not isinstance(raw.get("resource"), dict):
        raise Invalid(f"{where} needs a resource for {method}", expression=f"{where}.resource")
    return Entry(
        index,
        method,
        url.removeprefix(base_url + "/"),
        _text(raw, "fullUrl", where),
        raw.get("resource"),
        _text(request, "ifNoneExist", f"{where}.request"),
        _text(request, "ifMatch", f"{where}.request"),
        _text(request, "ifNoneMatch", f"{where}.request"),
    )


def parse_bundle(body: Any, base_url: str, bounds: Limits | None = None) -> tuple[str, list[Entry]]:
    bundle = validation.require_resource(body, "Bundle")
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise Invalid(
            "Only transaction and batch Bundles can be posted to the base", expression="Bundle.type"
        )
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        raise Invalid("Bundle.entry must be an array", expression="Bundle.entry")
    entries = [_parse_entry(i, raw, base_url) for i, raw in enumerate(raw_entries)]
    if bounds is not None:
        for entry in entries:
            entry.limits = bounds
    full_urls = [e.full_url for e in entries if e.full_url]
    if len(full_urls) != len(set(full_urls)):
        raise Invalid("Two entries share a fullUrl", expression="Bundle.entry.fullUrl")
    return kind, entries


def _patch_document(resource: Any, bounds: Limits) -> Any:
    """A PATCH entry carries its JSON Patch as a Binary (http.html#patch)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Binary":
        raise Invalid("A PATCH entry carries its JSON Patch as a Binary resource")
    if resource.get("contentType") != "application/json-patch+json":
        raise Invalid("Only JSON Patch (application/json-patch+json) is supported")
    data = resource.get("data", "")
    if not isinstance(data, str):
        raise Invalid("The PATCH entry's Binary.data must be a string", expression="Binary.data")
    try:
        return limits.parse(base64.b64decode(data, validate=True), bounds)
    except ValueError as error:
        raise Invalid("The PATCH entry's Binary holds no valid base64 data") from error


def _request(entry: Entry) -> FhirRequest:
    parts = urlsplit(entry.url)
    body = entry.resource
    if entry.method == "PATCH":
        body = _patch_document(entry.resource, entry.limits)
    return FhirRequest(
        entry.method,
        parts.path,
        parse_qsl(parts.query, keep_blank_values=True),
        body,
        if_match=entry.if_match,
        if_none_exist=entry.if_none_exist,
        if_none_match=entry.if_none_match,
        strict=True,
    )


def response_entry(
    server: FhirServer, result: Result, prefer: str | None, include_body: bool = False
) -> dict[str, Any]:
    status = HTTPStatus(result.status)
    response: dict[str, Any] = {"status": f"{status.value} {status.phrase}"}
    entry: dict[str, Any] = {}
    stored = result.stored
    if stored is not None:
        entry["fullUrl"] = stored.url(server.base_url)
        response["location"] = stored.location(server.base_url)
        response["etag"] = stored.etag
        response["lastModified"] = format_instant(stored.last_updated)
        if (prefer == "representation" or include_body) and stored.content is not None:
            entry["resource"] = jsonio.raw(stored.content)
    elif result.body is not None:
        entry["resource"] = jsonio.raw(result.body)
    entry["response"] = response
    return entry


def error_entry(error: MedsvcError) -> dict[str, Any]:
    status = HTTPStatus(error.status)
    return {"response": {"status": f"{status.value} {status.phrase}", "outcome": error.outcome()}}


def _inside(entry: Entry, expression: str) -> str:
    """Observation.code in entry 3 is Bundle.entry[3].resource.code."""
    if not isinstance(entry.resource, dict):
        return entry.where
    root, _, rest = expression.partition(".")
    if root == entry.resource.get("resourceType"):
        return f"{entry.where}.resource" + (f".{rest}" if rest else "")
    return f"{entry.where}.resource.{expression}"


def _with_location(error: MedsvcError, entry: Entry) -> MedsvcError:
    """The same error, its diagnostics and expressions placed at the failing entry."""
    for i, issue in enumerate(error.issues):
        expressions = tuple(_inside(entry, x) for x in issue.expression) or (entry.where,)
        error.issues[i] = type(issue)(
            f"{entry.where}: {issue.diagnostics}", issue.code, issue.severity, expressions
        )
    return error


def run_batch(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    entries: list[Entry],
    prefer: str | None,
) -> list[dict[str, Any]]:
    responses = []
    for entry in entries:
        try:
            with session.begin_nested():
                result = dispatch(server, session, ctx, _request(entry))
            responses.append(response_entry(server, result, prefer, entry.method == "GET"))
        except MedsvcError as error:
            responses.append(error_entry(_with_location(error, entry)))
    return responses


def _resolve_reference(
    server: FhirServer, session: Connection, ctx: AuthContext, reference: str
) -> str:
    parsed = references.conditional(reference)
    assert parsed is not None
    resource_type, query = parsed
    pairs = parse_qsl(query, keep_blank_values=True)
    scopes.require(ctx, resource_type, "search")
    found = find_matches(server, session, ctx, resource_type, pairs, identify=True)
    if not found:
        raise NotFound(f"No {resource_type} matches the conditional reference '{reference}'")
    if len(found) > 1:
        raise MultipleMatches(f"Several resources match the conditional reference '{reference}'")
    return f"{resource_type}/{found[0].id}"


def _rewrite(value: Any, mapping: dict[str, str], resolve: Any) -> Any:
    if isinstance(value, dict):
        rewritten = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                if item in mapping:
                    item = mapping[item]
                elif references.conditional(item) is not None:
                    item = resolve(item)
            elif key == "div" and isinstance(item, str):
                for old, new in mapping.items():
                    item = item.replace(old, new)
            rewritten[key] = _rewrite(item, mapping, resolve)
        return rewritten
    if isinstance(value, list):
        return [_rewrite(item, mapping, resolve) for item in value]
    if isinstance(value, str) and value in mapping:
        return mapping[value]
    return value


def _assign_ids(
    server: FhirServer, session: Connection, ctx: AuthContext, entries: list[Entry]
) -> dict[str, str]:
    """Gives each created resource its id (or finds the match of a conditional one)."""
    mapping: dict[str, str] = {}
    for entry in entries:
        try:
            target = _target_of(server, session, ctx, entry)
        except MedsvcError as error:
            raise _with_location(error, entry) from error
        if target is not None and entry.full_url:
            mapping[entry.full_url] = target
    return mapping


def _target_of(
    server: FhirServer, session: Connection, ctx: AuthContext, entry: Entry
) -> str | None:
    """Type/id that the entry's fullUrl will stand for, once the entry has run."""
    request = _request(entry)
    segments = request.segments
    if entry.method == "POST" and len(segments) == 1:
        scopes.require(ctx, segments[0], "create")
        if entry.if_none_exist:
            pairs = conditional.parse_condition(entry.if_none_exist)
            match = conditional.single_match(server, session, ctx, segments[0], pairs)
            if match is not None:
                entry.existing = Result(200, match)
                return f"{segments[0]}/{match.id}"
        entry.assigned_id = interactions.new_id()
        return f"{segments[0]}/{entry.assigned_id}"
    if entry.method == "PUT" and len(segments) == 2:
        return f"{segments[0]}/{segments[1]}"
    if entry.method == "PUT" and len(segments) == 1 and request.query:
        return f"{segments[0]}/{_conditional_update_id(server, session, ctx, entry, request)}"
    return None


def _conditional_update_id(
    server: FhirServer, session: Connection, ctx: AuthContext, entry: Entry, request: FhirRequest
) -> str:
    """The id a conditional update will write: the match's, or the one it will create."""
    resource_type = request.segments[0]
    scopes.require(ctx, resource_type, "update")
    match = conditional.single_match(server, session, ctx, resource_type, request.query)
    if match is not None:
        return match.id
    given = entry.resource.get("id") if isinstance(entry.resource, dict) else None
    if isinstance(given, str):
        return given
    # Chosen here and kept out of the body: an id in the body is the client's choice.
    entry.update_id = interactions.new_id()
    return entry.update_id


def run_transaction(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    entries: list[Entry],
    prefer: str | None,
) -> list[dict[str, Any]]:
    ordered = sorted(entries, key=lambda e: (ORDER[e.method], e.index))
    results: dict[int, dict[str, Any]] = {}
    for entry in (e for e in ordered if e.method == "DELETE"):
        results[entry.index] = _run_entry(server, session, ctx, entry, prefer)
    mapping = _assign_ids(server, session, ctx, ordered)

    resolved: dict[str, str] = {}

    def resolve(reference: str) -> str:
        # Once per Bundle: a lab's report and its 20 Observations name one patient alike.
        if reference not in resolved:
            resolved[reference] = _resolve_reference(server, session, ctx, reference)
        return resolved[reference]

    with pending.batched(session):
        for entry in ordered:
            if entry.method == "DELETE":
                continue
            if entry.resource is not None:
                try:
                    entry.resource = _rewrite(entry.resource, mapping, resolve)
                except MedsvcError as error:
                    raise _with_location(error, entry) from error
            results[entry.index] = _run_entry(server, session, ctx, entry, prefer)
    return [results[e.index] for e in entries]


def _run_entry(
    server: FhirServer, session: Connection, ctx: AuthContext, entry: Entry, prefer: str | None
) -> dict[str, Any]:
    try:
        if entry.existing is not None:
            result = entry.existing
        elif entry.assigned_id is not None:
            result = _create_with_id(server, session, ctx, entry)
        elif entry.update_id is not None:
            request = _request(entry)
            result = conditional.update_matching(
                server,
                session,
                ctx,
                request.segments[0],
                urlencode(request.query),
                entry.resource,
                entry.if_match,
                create_id=entry.update_id,
            )
        else:
            result = dispatch(server, session, ctx, _request(entry))
    except MedsvcError as error:
        raise _with_location(error, entry) from error
    return response_entry(server, result, prefer, entry.method == "GET")


def _create_with_id(
    server: FhirServer, session: Connection, ctx: AuthContext, entry: Entry
) -> Result:
    resource_type = _request(entry).segments[0]
    definition = server.definition(resource_type, "create")
    scopes.require(ctx, resource_type, "create")
    resource = validation.require_resource(entry.resource, resource_type)
    if entry.if_none_exist:
        result = conditional.create_unique(
            server,
            session,
            ctx,
            definition,
            resource,
            conditional.parse_condition(entry.if_none_exist),
            entry.assigned_id,
        )
        if result.stored is None or result.stored.id != entry.assigned_id:
            raise ConcurrentMatch(f"A matching {resource_type} was created concurrently; retry")
        return result
    interactions.prepare(server, session, ctx, "create", resource, None)
    return interactions.insert(server, session, ctx, definition, resource, entry.assigned_id)
