"""The conformance artefacts in fhir_profiles/, loaded once: types, search parameters, profiles,
operations.

What is declared there is what the server indexes, validates and advertises.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from medsvc.fhir.fhirpath import Extractor, compile_expression, elements_read
from medsvc.kit.paths import data_path

# What a type supports unless the CapabilityStatement in fhir_profiles/ lists it with fewer.
ALL_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)


@dataclass(frozen=True)
class SearchParam:
    code: str
    type: str
    url: str
    expression: str
    description: str
    targets: tuple[str, ...]
    extract: Extractor = field(compare=False, repr=False)
    elements: frozenset[str] | None = None  # the top-level elements it reads; None: unknown
    # A resource has at most one value, an instant (Slot.start): see fhir/search/windows.py.
    instant: bool = False
    # Indexed and searched as blind index tokens, not codes: see blinding.py.
    blinder: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ParamsByElement:
    """Which search parameters can find values in a resource, from its top-level keys alone.

    A resource of 8 elements needs only the few of its type's 30-odd parameters that start
    from one of them; the rest would walk to nothing.
    """

    by_element: dict[str, tuple[SearchParam, ...]]
    always: tuple[SearchParam, ...]

    @classmethod
    def of(cls, params: dict[str, SearchParam]) -> "ParamsByElement":
        by_element: dict[str, list[SearchParam]] = {}
        always = []
        for param in params.values():
            if param.elements is None:
                always.append(param)
            for element in param.elements or ():
                by_element.setdefault(element, []).append(param)
        return cls({k: tuple(v) for k, v in by_element.items()}, tuple(always))

    def for_resource(self, resource: dict[str, Any]) -> list[SearchParam]:
        found = {p.code: p for p in self.always}
        for key in resource:
            for element in _element_names(key):
                for param in self.by_element.get(element, ()):
                    found[param.code] = param
        return list(found.values())


def _element_names(key: str) -> list[str]:
    """`valueQuantity` may be the choice element `value`: every name a JSON key may stand for."""
    name = key.removeprefix("_")
    return [name, *(name[:i] for i in range(1, len(name)) if name[i].isupper())]


@dataclass(frozen=True)
class ResourceDefinition:
    type: str
    structure: dict[str, Any]
    params: dict[str, SearchParam]
    interactions: tuple[str, ...]
    indexed_by: ParamsByElement = field(compare=False, repr=False)
    sealed: bool = False  # stored only sealed: see sealing.py
    documentation: str = ""  # what the CapabilityStatement in fhir_profiles/ says of it


OPERATION_LEVELS = ("system", "type", "instance")


@dataclass(frozen=True)
class OperationDefinition:
    """An OperationDefinition as the server runs it: its name, where it is invoked, and
    whether it changes anything (a GET may invoke only one that does not)."""

    id: str
    code: str  # the name, without the $
    url: str
    levels: frozenset[str]  # system | type | instance
    types: frozenset[str] | None  # None: every supported type
    affects_state: bool
    resource: dict[str, Any] = field(compare=False, repr=False)


def _declared(resource: dict[str, Any], key: str, kind: type, name: str) -> Any:
    value = resource.get(key)
    if not isinstance(value, kind) or value == "":
        raise ValueError(f"{name}: {key} must be given, a {kind.__name__}")
    return value


def _operation_definition(resource: dict[str, Any]) -> OperationDefinition:
    """Refused, naming what is wrong, unless it says how it is invoked: name, levels, types."""
    name = f"OperationDefinition {resource.get('id') or resource.get('url') or '(no id)'}"
    levels = frozenset(
        level for level in OPERATION_LEVELS if _declared(resource, level, bool, name)
    )
    if not levels:
        raise ValueError(f"{name}: none of system, type and instance is true")
    affects_state = resource.get("affectsState", False)
    if not isinstance(affects_state, bool):
        raise ValueError(f"{name}: affectsState must be a bool")
    return OperationDefinition(
        id=_declared(resource, "id", str, name),
        code=_declared(resource, "code", str, name),
        url=_declared(resource, "url", str, name),
        levels=levels,
        types=_operation_types(resource, levels, name),
        affects_state=affects_state,
        resource=resource,
    )


def _operation_types(
    resource: dict[str, Any], levels: frozenset[str], name: str
) -> frozenset[str] | None:
    """The types it is invoked on; "Resource" (as in the specification's own definitions)
    stands for every type."""
    types = resource.get("resource", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ValueError(f"{name}: resource must be a list of type names")
    if not types and levels != {"system"}:
        raise ValueError(f"{name}: invoked on a type or an instance, it names no resource")
    return None if "Resource" in types else frozenset(types)


@dataclass(frozen=True)
class Definitions:
    resources: dict[str, ResourceDefinition]
    value_sets: dict[str, frozenset[str]]
    operations: dict[str, OperationDefinition]  # by the OperationDefinition's id
    capability_source: dict[str, Any]

    def resource(self, resource_type: str) -> ResourceDefinition | None:
        return self.resources.get(resource_type)

    def operation(self, definition_id: str) -> OperationDefinition:
        """The OperationDefinition fhir_profiles/ declares with this id; a handler is
        registered only for an operation declared there."""
        found = self.operations.get(definition_id)
        if found is None:
            raise KeyError(f"fhir_profiles/ declares no OperationDefinition {definition_id}")
        return found


def _read_folder(folder: Path) -> list[dict[str, Any]]:
    return [orjson.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))]


def _single_instant(structure: dict[str, Any], expression: str) -> bool:
    """Whether the expression is one element of the type, an instant of at most one value."""
    path = expression.strip()
    for element in structure.get("snapshot", {}).get("element", []):
        if element.get("path") == path:
            types = [t.get("code") for t in element.get("type", [])]
            return element.get("max") == "1" and types == ["instant"]
    return False


def _params_for(
    resource_type: str, declared: list[dict[str, Any]], structure: dict[str, Any]
) -> dict[str, SearchParam]:
    params = {}
    for sp in declared:
        if resource_type not in sp["base"] and "Resource" not in sp["base"]:
            continue
        if sp["code"] == "_id":
            continue  # answered from the resource table itself
        extract = compile_expression(sp["expression"], resource_type)
        if extract is None:
            continue
        params[sp["code"]] = SearchParam(
            code=sp["code"],
            type=sp["type"],
            url=sp["url"],
            expression=sp["expression"],
            description=sp.get("description", ""),
            targets=tuple(sp.get("target", ())),
            extract=extract,
            elements=elements_read(sp["expression"], resource_type),
            instant=sp["type"] == "date" and _single_instant(structure, sp["expression"]),
        )
    return params


def _value_set_codes(value_set: dict[str, Any]) -> frozenset[str]:
    return frozenset(c["code"] for c in value_set.get("expansion", {}).get("contains", []))


def _listed_types(capability: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The entries of the types the CapabilityStatement lists, by type."""
    return {
        entry["type"]: entry
        for rest in capability.get("rest", [])
        for entry in rest.get("resource", [])
    }


def load_definitions(root: Path) -> Definitions:
    declared_params = _read_folder(root / "SearchParameter")
    capability = orjson.loads((root / "CapabilityStatement-medsvc.json").read_bytes())
    listed = _listed_types(capability)
    resources = {}
    for structure in _read_folder(root / "StructureDefinition"):
        name = structure["type"]
        params = _params_for(name, declared_params, structure)
        entry = listed.get(name, {})
        interactions = tuple(i["code"] for i in entry.get("interaction", []))
        resources[name] = ResourceDefinition(
            type=name,
            structure=structure,
            params=params,
            interactions=interactions or ALL_INTERACTIONS,
            indexed_by=ParamsByElement.of(params),
            documentation=entry.get("documentation", ""),
        )
    value_sets = {vs["url"]: _value_set_codes(vs) for vs in _read_folder(root / "ValueSet")}
    declared = map(_operation_definition, _read_folder(root / "OperationDefinition"))
    operations = {op.id: op for op in declared}
    return Definitions(resources, value_sets, operations, capability)


@lru_cache(maxsize=1)
def get_definitions() -> Definitions:
    return load_definitions(data_path("fhir_profiles"))
