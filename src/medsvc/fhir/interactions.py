"""The FHIR instance interactions (http.html): create, read, vread, update, patch, delete.

HTTP-free: the REST routes and the entries of transaction and batch Bundles both call these.
"""

import re
import uuid
from typing import Any

import jsonpatch
import jsonpointer
from sqlalchemy import Connection

from medsvc.errors import (
    Gone,
    Invalid,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Unprocessable,
)
from medsvc.fhir import jsonio, limits, references, store, validation
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import ResourceDefinition
from medsvc.fhir.numbers import natural
from medsvc.fhir.registry import WriteEvent
from medsvc.fhir.server import FhirServer
from medsvc.fhir.store import Stored
from medsvc.security import scopes
from medsvc.security.context import AuthContext

ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def new_id() -> str:
    return str(uuid.uuid4())


def parse_version(text: str | None) -> int | None:
    """The version of an ETag such as W/"3" (If-Match), or None when absent."""
    if text is None:
        return None
    match = re.fullmatch(r'\s*(?:W/)?"?([0-9]+)"?\s*', text)
    version = natural(match[1]) if match else None
    if version is None:
        raise Invalid(f"'{text}' is not a version ETag such as W/\"3\"")
    return version


def visible_current(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    resource_id: str,
    *,
    for_update: bool = False,
) -> Stored:
    """The current row if the caller may see it; denied and unknown both give 404."""
    visible = server.registry.read_filter(ctx, resource_type, store.RESOURCE)
    current = store.read_current(
        session, server.sealer, resource_type, resource_id, for_update=for_update, visible=visible
    )
    if current is None:
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    return current


def read(
    server: FhirServer, session: Connection, ctx: AuthContext, resource_type: str, resource_id: str
) -> Result:
    server.definition(resource_type, "read")
    scopes.require(ctx, resource_type, "read")
    current = visible_current(server, session, ctx, resource_type, resource_id)
    if current.deleted:
        raise Gone(f"{resource_type}/{resource_id} was deleted", headers={"ETag": current.etag})
    return Result(200, current)


def vread(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    resource_id: str,
    version: str,
) -> Result:
    server.definition(resource_type, "vread")
    scopes.require(ctx, resource_type, "read")
    current = visible_current(server, session, ctx, resource_type, resource_id)
    number = natural(version)
    stored = (
        store.read_version(session, server.sealer, current, number) if number is not None else None
    )
    if stored is None:
        raise NotFound(f"{resource_type}/{resource_id} has no version '{version}'")
    if stored.deleted:
        raise Gone(f"Version {version} of {resource_type}/{resource_id} is a deletion")
    return Result(200, stored)


def prepare(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    interaction: str,
    resource: dict[str, Any],
    current: Stored | None,
) -> dict[str, Any]:
    """Validates a resource about to be written and lets the domains' hooks check it."""
    validation.validate(resource)
    references.require_valid(resource, server.base_url)
    server.registry.run_before_write(
        session, ctx, WriteEvent(interaction, resource["resourceType"], resource, current)
    )
    return resource


def insert(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    definition: ResourceDefinition,
    resource: dict[str, Any],
    resource_id: str | None = None,
) -> Result:
    """Stores a new resource (already prepared) under a new or client-chosen id."""
    stored = store.insert_resource(
        session,
        server.sealer,
        definition,
        resource_id or new_id(),
        resource,
        server.base_url,
        ctx.organization,
    )
    server.registry.run_after_write(
        session, ctx, WriteEvent("create", definition.type, resource, None), stored
    )
    return Result(201, stored)


def create(
    server: FhirServer, session: Connection, ctx: AuthContext, resource_type: str, body: Any
) -> Result:
    definition = server.definition(resource_type, "create")
    scopes.require(ctx, resource_type, "create")
    resource = validation.require_resource(body, resource_type)
    return insert(
        server, session, ctx, definition, prepare(server, session, ctx, "create", resource, None)
    )


def update(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    resource_id: str,
    body: Any,
    if_match: str | None = None,
) -> Result:
    definition = server.definition(resource_type, "update")
    scopes.require(ctx, resource_type, "update")
    resource = validation.require_resource(body, resource_type)
    if resource.get("id") != resource_id:
        raise Invalid(
            f"The resource id '{resource.get('id')}' must equal the id in the URL '{resource_id}'",
            expression="id",
        )
    if not ID_PATTERN.match(resource_id):
        raise Invalid(f"'{resource_id}' is not a valid id", expression="id")
    expected = parse_version(if_match)
    current = store.read_current(
        session, server.sealer, resource_type, resource_id, for_update=True
    )
    if current is None and not ctx.unrestricted:
        # Only the platform chooses ids: to anyone else, an id they cannot see and an id
        # that does not exist must look the same.
        raise NotFound(f"{resource_type}/{resource_id} is not known")
    if current is None:
        if expected is not None:
            raise PreconditionFailed(f"{resource_type}/{resource_id} does not exist")
        scopes.require(ctx, resource_type, "create")
        prepare(server, session, ctx, "create", resource, None)
        return insert(server, session, ctx, definition, resource, resource_id)
    if server.registry.read_filter(ctx, resource_type, store.RESOURCE) is not None:
        visible_current(server, session, ctx, resource_type, resource_id)
    return write_version(server, session, ctx, definition, current, resource, expected, "PUT")


def write_version(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    definition: ResourceDefinition,
    current: Stored,
    resource: dict[str, Any],
    expected: int | None,
    method: str,
) -> Result:
    if expected is not None and expected != current.version_id:
        raise PreconditionFailed(
            f"Version {expected} was expected but {current.resource_type}/{current.id} is at "
            f"version {current.version_id}"
        )
    prepare(server, session, ctx, "update", resource, current)
    if not current.deleted and store.same_content(current, resource):
        return Result(200, current)
    stored = store.add_version(
        session, server.sealer, definition, current, resource, method, server.base_url
    )
    server.registry.run_after_write(
        session, ctx, WriteEvent("update", definition.type, resource, current), stored
    )
    return Result(201 if current.deleted else 200, stored)


def patch(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    resource_type: str,
    resource_id: str,
    operations: Any,
    if_match: str | None = None,
) -> Result:
    """JSON Patch (RFC 6902) applied to the current version, then stored like an update."""
    definition = server.definition(resource_type, "patch")
    scopes.require(ctx, resource_type, "update")
    current = visible_current(server, session, ctx, resource_type, resource_id, for_update=True)
    if current.deleted or current.content is None:
        raise Gone(f"{resource_type}/{resource_id} was deleted")
    if not isinstance(operations, list):
        raise Invalid("A JSON Patch document is an array of operations")
    limits.check(operations, server.limits)
    try:
        patched = _apply_patch(jsonio.loads_stored(current.content), operations, server.limits)
    except jsonpatch.JsonPatchTestFailed as error:
        raise Unprocessable(f"The patch test failed: {error}") from error
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as error:
        raise Invalid(f"The patch cannot be applied: {error}") from error
    if (
        not isinstance(patched, dict)
        or patched.get("resourceType") != resource_type
        or patched.get("id") != resource_id
    ):
        raise Unprocessable("A patch may not change the resourceType or id")
    return write_version(
        server, session, ctx, definition, current, patched, parse_version(if_match), "PATCH"
    )


def _apply_patch(document: Any, operations: list[Any], bounds: limits.Limits) -> Any:
    """Applies a JSON Patch one operation at a time. A copy can double the resource, so what
    each copies is counted first: the patch is refused before the resource passes its limit,
    and the result is held to every limit as a body would be."""
    budget = bounds.max_resource_elements
    elements = limits.count_elements(document, budget)
    for operation in operations:
        copied = operation.get("from") if isinstance(operation, dict) else None
        if isinstance(copied, str) and operation.get("op") == "copy":
            elements += limits.count_elements(jsonpointer.resolve_pointer(document, copied), budget)
            if elements > budget:
                raise PayloadTooLarge(
                    f"The patch would make the resource hold more than {budget:,} elements, "
                    "the limit for one resource"
                )
        document = jsonpatch.apply_patch(document, [operation], in_place=True)
    return limits.check(document, bounds)


def delete(
    server: FhirServer, session: Connection, ctx: AuthContext, resource_type: str, resource_id: str
) -> Result:
    definition = server.definition(resource_type, "delete")
    scopes.require(ctx, resource_type, "delete")
    current = visible_current(server, session, ctx, resource_type, resource_id, for_update=True)
    return delete_current(server, session, ctx, definition, current)


def delete_current(
    server: FhirServer,
    session: Connection,
    ctx: AuthContext,
    definition: ResourceDefinition,
    current: Stored,
) -> Result:
    if current.deleted:
        return Result(204, current)
    event = WriteEvent("delete", definition.type, None, current)
    server.registry.run_before_write(session, ctx, event)
    stored = store.add_version(
        session, server.sealer, definition, current, None, "DELETE", server.base_url
    )
    server.registry.run_after_write(session, ctx, event, stored)
    return Result(204, stored)
