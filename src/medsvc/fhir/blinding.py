"""Token search parameters indexed as keyed HMACs (blind index tokens) instead of their codes,
for the resource types whose content is sealed: the index can match `code=system|code`,
`code=code` and `code=|code` by equality, and holds no code a dump could read.

Each coding gives two index rows, one that names its system and one that matches any system.
Searching a system without a code (`system|`) would need the codes themselves and is refused.
"""

from dataclasses import dataclass, replace
from typing import Any

from medsvc.crypto.blind_index import BlindIndex
from medsvc.errors import Invalid
from medsvc.fhir.definitions import Definitions, ParamsByElement, ResourceDefinition, SearchParam
from medsvc.fhir.search.values import TokenValue, token_value

WITH_SYSTEM = "urn:medsvc:blind:system"  # the system of a row whose token names the system
ANY_SYSTEM = "urn:medsvc:blind:any"  # the system of a row that matches a code in any system

Row = dict[str, Any]


@dataclass(frozen=True)
class Blinder:
    """The blind index of one token parameter of one resource type."""

    index: BlindIndex
    purpose: str  # "Observation.code": equal codes give unrelated tokens in other parameters

    def _with_system(self, system: str, code: str) -> str:
        return self.index.token(self.purpose, f"{system}\0{code}")

    def _any_system(self, code: str) -> str:
        return self.index.token(self.purpose + ":any", code)

    def index_rows(self, rows: list[Row]) -> list[Row]:
        blinded = []
        for row in rows:
            code = row["code"]
            blinded.append(
                {"system": WITH_SYSTEM, "code": self._with_system(row["system"] or "", code)}
            )
            blinded.append({"system": ANY_SYSTEM, "code": self._any_system(code)})
        return blinded

    def query_value(self, raw: str) -> str:
        """The token value as the blinded index holds it."""
        token: TokenValue = token_value(raw)
        if token.code is None:
            raise Invalid(
                f"{self.purpose} is indexed without its codes: search it by code or "
                "system|code, not by a system alone"
            )
        if token.system is None:
            return f"{ANY_SYSTEM}|{self._any_system(token.code)}"
        return f"{WITH_SYSTEM}|{self._with_system(token.system, token.code)}"


def blinded(
    definitions: Definitions, index: BlindIndex, params: dict[str, frozenset[str]]
) -> Definitions:
    """The definitions with these token parameters blinded (the rest as they are)."""
    resources = dict(definitions.resources)
    for resource_type, codes in params.items():
        definition = resources.get(resource_type)
        if definition is not None:
            resources[resource_type] = _blinded_resource(definition, index, codes)
    return replace(definitions, resources=resources)


def _blinded_resource(
    definition: ResourceDefinition, index: BlindIndex, codes: frozenset[str]
) -> ResourceDefinition:
    params: dict[str, SearchParam] = {
        code: replace(param, blinder=Blinder(index, f"{definition.type}.{code}"))
        if code in codes and param.type == "token"
        else param
        for code, param in definition.params.items()
    }
    return replace(definition, params=params, indexed_by=ParamsByElement.of(params))
