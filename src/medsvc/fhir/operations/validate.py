"""$validate (resource-operation-validate): checks a resource without storing it.

The answer is an OperationOutcome with 200 whatever it finds; errors in it mean the
resource would be refused.
"""

from typing import Any

from medsvc.errors import Invalid, Issue, MedsvcError, NotFound, information, operation_outcome
from medsvc.fhir import jsonio, references, validation
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.interactions import visible_current
from medsvc.fhir.operations.parameters import parameters_of
from medsvc.fhir.registry import Operation, OperationCall, WriteEvent
from medsvc.fhir.store import Stored
from medsvc.security import scopes

MODES = ("create", "update", "delete")


def _parameters(call: OperationCall) -> tuple[Any, str | None]:
    """The resource and mode, from a Parameters body or a bare resource body."""
    mode = next((v for k, v in call.parameters if k == "mode"), None)
    body = call.body
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        resource = None
        for _where, parameter in parameters_of(body):
            if parameter.get("name") == "resource":
                resource = parameter.get("resource")
            elif parameter.get("name") == "mode":
                mode = parameter.get("valueCode", mode)
        return resource, mode
    return body, mode


def _current(call: OperationCall) -> Stored | None:
    if not call.resource_type or not call.resource_id:
        return None
    try:
        return visible_current(
            call.server, call.session, call.ctx, call.resource_type, call.resource_id
        )
    except NotFound:
        return None


def _issues_for(call: OperationCall, resource: Any, mode: str | None) -> list[Issue]:
    if mode == "delete":
        current = _current(call)
        if current is None or current.deleted:
            return [Issue(f"{call.resource_type}/{call.resource_id} does not exist", "not-found")]
        return []
    if resource is None:
        raise Invalid("$validate needs a resource to check")
    resource = validation.require_resource(resource, call.resource_type)
    if call.server.definitions.resource(resource["resourceType"]) is None:
        raise Invalid(f"The resource type '{resource['resourceType']}' is not supported here")
    issues = validation.find_issues(resource)
    issues += references.find_issues(resource, call.server.base_url)
    if mode == "update" and call.resource_id and resource.get("id") != call.resource_id:
        issues.append(
            Issue("The resource id must equal the id in the URL", "invalid", expression=("id",))
        )
    try:
        if not issues and mode in ("create", "update"):
            call.server.registry.run_before_write(
                call.session, call.ctx, WriteEvent(mode, resource["resourceType"], resource, None)
            )
    except MedsvcError as error:
        issues += error.issues
    return issues


def validate(call: OperationCall) -> Result:
    scopes.require(call.ctx, call.resource_type or "", "read")
    resource, mode = _parameters(call)
    if mode is not None and mode not in MODES:
        raise Invalid(f"mode must be one of {', '.join(MODES)}, not '{mode}'")
    if call.resource_id and resource is None and mode != "delete":
        current = _current(call)
        if current is not None and current.content is not None:
            resource = jsonio.loads_stored(current.content)
    issues = _issues_for(call, resource, mode)
    outcome = operation_outcome(issues) if issues else information("No issues found")
    return Result(200, body=jsonio.dumps(outcome))


def operation(definitions: Definitions) -> Operation:
    return Operation(definitions.operation("Resource-validate"), validate)
