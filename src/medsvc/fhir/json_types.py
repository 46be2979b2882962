"""The JSON type of every primitive value (json.html#primitive): true or false for a boolean,
a number for an integer or decimal, a string for every other primitive. The R4B models convert
"true" to true and a number to a date; what is stored must already be what FHIR says."""

import datetime
import decimal
import types
import typing
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.types import FhirBase
from pydantic import BaseModel

from medsvc.errors import Issue

RESOURCE = "Resource"  # an element holding any resource: its resourceType names its model
JSON_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "number",
    float: "number",
    decimal.Decimal: "number",
    str: "string",
    bytes: "string",
    datetime.date: "string",
    datetime.datetime: "string",
    datetime.time: "string",
}
Kind = type[BaseModel] | str | None


def _matches(value: Any, expected: str) -> bool:
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)
    return isinstance(value, str)


def _unwrapped(annotation: Any) -> Any:
    """The type of one value of an element: Optional, List and Annotated taken off."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated or origin is list:
            annotation = typing.get_args(annotation)[0]
        elif origin is typing.Union or origin is types.UnionType:
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def _kind(annotation: Any) -> Kind:
    """A model class, RESOURCE, the JSON type a primitive must have, or None: not checked."""
    found = _unwrapped(annotation)
    if isinstance(found, type) and issubclass(found, FhirBase):
        model: type[BaseModel] = found.get_model_klass()
        return RESOURCE if model.__name__ == RESOURCE else model
    return JSON_TYPES.get(found) if isinstance(found, type) else None


@cache
def _elements(model: type[BaseModel]) -> dict[str, Kind]:
    """Each element of a model by its JSON name, and what its values are."""
    return {
        field.alias: _kind(field.annotation)
        for field in model.model_fields.values()
        if field.alias and not field.alias.startswith("_")  # extensions: shape-checked
    }


def _resource_model(node: Any) -> type[BaseModel] | None:
    kind = node.get("resourceType") if isinstance(node, dict) else None
    try:
        return get_fhir_model_class(kind) if isinstance(kind, str) else None
    except (KeyError, ValueError):
        return None  # an unknown type: the model check names it


def _check(node: dict[str, Any], model: type[BaseModel], where: str, issues: list[Issue]) -> None:
    elements = _elements(model)
    for key, value in node.items():
        kind = elements.get(key)
        if kind is None:
            continue
        listed = value if isinstance(value, list) else [value]
        for index, item in enumerate(listed):
            path = f"{where}.{key}" + (f"[{index}]" if isinstance(value, list) else "")
            if item is None:
                continue  # a null beside an extension, or one the shape check refuses
            if kind == RESOURCE:
                inner = _resource_model(item)
            elif isinstance(kind, str):
                if not _matches(item, kind):
                    message = f"{path} must be a JSON {kind}"
                    issues.append(Issue(message, "structure", expression=(path,)))
                continue
            else:
                inner = kind
            if inner is not None and isinstance(item, dict):
                _check(item, inner, path, issues)


def type_issues(resource: dict[str, Any]) -> list[Issue]:
    """Every primitive of the resource whose JSON type is not the one FHIR JSON gives it."""
    issues: list[Issue] = []
    model = _resource_model(resource)
    if model is not None:
        _check(resource, model, str(resource["resourceType"]), issues)
    return issues
