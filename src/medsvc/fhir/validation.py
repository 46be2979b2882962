"""Checks every resource before it is written: its shape, the R4B model, then the profile rules.

Unparsable or structurally wrong content is a 400; a resource that is well-formed but breaks a
cardinality, a required binding or an invariant is a 422. Each issue names its element.
"""

import re
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from medsvc.errors import MAX_ISSUES, Invalid, Issue, Structure, Unprocessable, capped
from medsvc.fhir import json_types, profile_rules
from medsvc.fhir.definitions import get_definitions

_REQUIRED_MESSAGE = re.compile(r"Value for the field '\w+' is required")


@lru_cache(maxsize=64)
def _model(resource_type: str) -> type[BaseModel]:
    return get_fhir_model_class(resource_type)


@lru_cache(maxsize=64)
def _rules(resource_type: str) -> list[profile_rules.ElementRule]:
    definitions = get_definitions()
    return profile_rules.compile_rules(
        definitions.resources[resource_type].structure, definitions.value_sets
    )


def require_resource(body: Any, expected_type: str | None = None) -> dict[str, Any]:
    """The body as a resource of the expected type, or a 400 that says what is wrong."""
    if not isinstance(body, dict):
        raise Structure("The body must be a JSON object holding a FHIR resource")
    resource_type = body.get("resourceType")
    if not isinstance(resource_type, str):
        raise Structure("The resource has no resourceType", expression="resourceType")
    if expected_type is not None and resource_type != expected_type:
        raise Invalid(
            f"The resourceType '{resource_type}' does not match the type "
            f"'{expected_type}' of the URL",
            expression="resourceType",
        )
    return body


def _expression(resource_type: str, location: tuple[Any, ...]) -> str:
    parts = [resource_type]
    for step in location:
        parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return "".join(parts)


def _is_missing(error: Any) -> bool:
    """The models report a missing required element in one of two ways."""
    return bool(error["type"] == "missing" or _REQUIRED_MESSAGE.search(error["msg"]))


def _json_shape_issues(node: Any, where: str) -> list[Issue]:
    """What FHIR JSON forbids and the models let through (json.html): a property whose value is
    null, and a primitive's extension (`_birthDate` beside `birthDate`) that is not an object,
    or for a repeating element an array of objects and nulls. The models would read a string
    there as JSON text to parse."""
    issues: list[Issue] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            issues += _json_shape_issues(item, f"{where}[{i}]")
        return issues
    if not isinstance(node, dict):
        return issues
    for key, value in node.items():
        if value is None:
            message = f"{where}.{key} is null; leave an element out instead"
            issues.append(Issue(message, "structure", expression=(f"{where}.{key}",)))
        elif key.startswith("_") and not _is_primitive_extension(value):
            message = f"{where}.{key} must be an object (or an array of objects and nulls)"
            issues.append(Issue(message, "structure", expression=(f"{where}.{key}",)))
        elif isinstance(value, dict | list):
            issues += _json_shape_issues(value, f"{where}.{key}")
    return issues


def _is_primitive_extension(value: Any) -> bool:
    if isinstance(value, list):
        return all(item is None or isinstance(item, dict) for item in value)
    return isinstance(value, dict)


def _model_issues(resource: dict[str, Any]) -> list[Issue]:
    resource_type = resource["resourceType"]
    shape = _json_shape_issues(resource, resource_type) or json_types.type_issues(resource)
    if shape:
        return shape
    try:
        _model(resource_type).model_validate(resource)
    except (TypeError, AttributeError, KeyError, RecursionError) as error:
        # A model's own validator that fails on a shape it did not expect: still bad input.
        message = f"{resource_type}: the content does not fit the R4B model ({error})"
        return [Issue(message, "structure", expression=(resource_type,))]
    except ValidationError as error:
        issues = [
            Issue(
                f"{_expression(resource_type, e['loc'])}: {e['msg']}",
                "required" if _is_missing(e) else "structure",
                expression=(_expression(resource_type, e["loc"]),),
            )
            for e in error.errors(include_url=False, include_input=False)[:MAX_ISSUES]
        ]
        return capped(issues, error.error_count())
    return []


def find_issues(resource: dict[str, Any]) -> list[Issue]:
    """Every problem with a resource of a supported type; empty when it may be stored."""
    issues = _model_issues(resource)
    if any(i.code != "required" for i in issues):
        return issues
    seen = {i.expression for i in issues}
    return issues + [
        i
        for i in profile_rules.check(_rules(resource["resourceType"]), resource)
        if i.expression not in seen
    ]


def validate(resource: dict[str, Any]) -> None:
    issues = find_issues(resource)
    if not issues:
        return
    structural = [i for i in issues if i.code == "structure"]
    if structural:
        raise Structure(structural[0].diagnostics, issues=issues)
    raise Unprocessable(issues[0].diagnostics, issues=issues)
