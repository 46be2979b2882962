"""Checks every resource before it is written: its shape, the R4B model, then the profile rules.

Unparsable or structurally wrong content is a 400; a resource that is well-formed but breaks a
cardinality, a required binding or an invariant is a 422. Each issue names its element.
"""

import re
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ValidationError

from medsvc.errors import Invalid, Issue, Structure, Unprocessable
from medsvc.fhir import profile_rules
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


def _model_issues(resource: dict[str, Any]) -> list[Issue]:
    resource_type = resource["resourceType"]
    try:
        _model(resource_type).model_validate(resource)
    except ValidationError as error:
        return [
            Issue(
                f"{_expression(resource_type, e['loc'])}: {e['msg']}",
                "required" if _is_missing(e) else "structure",
                expression=(_expression(resource_type, e["loc"]),),
            )
            for e in error.errors()
        ]
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
