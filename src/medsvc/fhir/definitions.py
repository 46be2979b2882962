"""The conformance artefacts in fhir_profiles/, loaded once: types, search parameters, profiles.

What is declared there is what the server indexes, validates and advertises.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from medsvc.config import data_path
from medsvc.fhir.fhirpath import Extractor, compile_expression

# Binary carries opaque content: it is created and read, never searched or updated.
BINARY_INTERACTIONS = ("create", "read", "vread")
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


@dataclass(frozen=True)
class ResourceDefinition:
    type: str
    structure: dict[str, Any]
    params: dict[str, SearchParam]
    interactions: tuple[str, ...]


@dataclass(frozen=True)
class Definitions:
    resources: dict[str, ResourceDefinition]
    value_sets: dict[str, frozenset[str]]
    operations: dict[str, dict[str, Any]]
    capability_source: dict[str, Any]

    def resource(self, resource_type: str) -> ResourceDefinition | None:
        return self.resources.get(resource_type)


def _read_folder(folder: Path) -> list[dict[str, Any]]:
    return [orjson.loads(p.read_bytes()) for p in sorted(folder.glob("*.json"))]


def _params_for(resource_type: str, declared: list[dict[str, Any]]) -> dict[str, SearchParam]:
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
        )
    return params


def _value_set_codes(value_set: dict[str, Any]) -> frozenset[str]:
    return frozenset(c["code"] for c in value_set.get("expansion", {}).get("contains", []))


def load_definitions(root: Path) -> Definitions:
    declared_params = _read_folder(root / "SearchParameter")
    resources = {}
    for structure in _read_folder(root / "StructureDefinition"):
        name = structure["type"]
        resources[name] = ResourceDefinition(
            type=name,
            structure=structure,
            params=_params_for(name, declared_params) if name != "Binary" else {},
            interactions=BINARY_INTERACTIONS if name == "Binary" else ALL_INTERACTIONS,
        )
    value_sets = {vs["url"]: _value_set_codes(vs) for vs in _read_folder(root / "ValueSet")}
    operations = {op["code"]: op for op in _read_folder(root / "OperationDefinition")}
    capability = orjson.loads((root / "CapabilityStatement-medsvc.json").read_bytes())
    return Definitions(resources, value_sets, operations, capability)


@lru_cache(maxsize=1)
def get_definitions() -> Definitions:
    return load_definitions(data_path("fhir_profiles"))
