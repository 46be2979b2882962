"""The inputs of an operation, from the URL and from a Parameters body alike."""

from dataclasses import dataclass, field
from typing import Any

from medsvc.errors import Invalid, Issue
from medsvc.fhir import references
from medsvc.fhir.registry import OperationCall

VALUE_KEYS = (
    "valueString",
    "valueUri",
    "valueCode",
    "valueDateTime",
    "valueInstant",
    "valueDate",
    "valueInteger",
    "valueBoolean",
)


@dataclass
class Inputs:
    values: dict[str, list[Any]] = field(default_factory=dict)

    def all(self, *names: str) -> list[Any]:
        return [v for name in names for v in self.values.get(name, [])]

    def one(self, *names: str) -> Any:
        found = self.all(*names)
        if len(found) > 1:
            raise Invalid(f"The parameter {names[0]} is given more than once")
        return found[0] if found else None

    def add(self, name: str, value: Any) -> None:
        self.values.setdefault(name, []).append(value)


def _object(parameter: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parameter[key]
    if not isinstance(value, dict):
        raise Invalid(f"{where}.{key} must be an object", expression=f"{where}.{key}")
    return value


def _value(parameter: dict[str, Any], where: str) -> Any:
    """A parameter's value: a primitive, a Reference's reference, a token, or a resource."""
    if "resource" in parameter:
        return parameter["resource"]
    for key in VALUE_KEYS:
        if key in parameter:
            return parameter[key]
    if "valueReference" in parameter:
        return _object(parameter, "valueReference", where).get("reference")
    if "valueCoding" in parameter:
        coding = _object(parameter, "valueCoding", where)
        return f"{coding.get('system', '')}|{coding.get('code', '')}".lstrip("|")
    if "valueCodeableConcept" in parameter:
        return _object(parameter, "valueCodeableConcept", where)
    raise Invalid(f"The parameter '{parameter.get('name')}' has no value this operation reads")


def read_inputs(call: OperationCall) -> Inputs:
    inputs = Inputs()
    for name, value in call.parameters:
        inputs.add(name, value)
    body = call.body
    if body is None:
        return inputs
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise Invalid("The operation takes a Parameters resource as its body")
    for where, parameter in parameters_of(body):
        if not isinstance(parameter.get("name"), str):
            raise Invalid(f"{where} needs a name", expression=f"{where}.name")
        inputs.add(parameter["name"], _value(parameter, where))
    return inputs


def parameters_of(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Each Parameters.parameter with where it is; a 400 naming any that is not an object."""
    found = body.get("parameter", [])
    if not isinstance(found, list):
        raise Invalid("Parameters.parameter must be an array", expression="Parameters.parameter")
    for index, parameter in enumerate(found):
        if not isinstance(parameter, dict):
            where = f"Parameters.parameter[{index}]"
            raise Invalid(f"{where} must be an object", expression=where)
    return [(f"Parameters.parameter[{i}]", p) for i, p in enumerate(found)]


def local_id(reference: Any, resource_type: str, base_url: str, parameter: str) -> str | None:
    """The id in a reference to a local resource of the type ('Type/id' or '{base}/Type/id');
    None when it names something else or is not a string; 422 naming the parameter when it
    is a spelling no reference may have (fhir/references.py)."""
    if not isinstance(reference, str) or references.ID_PATTERN.fullmatch(reference):
        return None  # a bare id, which the operations that take one read themselves
    try:
        target = references.parse(reference, base_url).target
    except references.BadReference as error:
        where = f"Parameters.parameter.where(name = '{parameter}')"
        issue = Issue(f"{where}: {error.diagnostics}", "value", expression=(where,))
        raise references.BadReference(issue.diagnostics, issues=[issue]) from error
    if target is None or target.type != resource_type or target.version is not None:
        return None
    return target.id
