"""How the results' types are stored and indexed: sealed, their clinical codes as blind index
tokens, and their values (quantities, strings, value dates, genes, file locations) not indexed
at all, so that neither the rows nor the index hold what a result says."""

from dataclasses import replace

from medsvc.crypto.blind_index import BlindIndex
from medsvc.fhir import Definitions, ParamsByElement, ResourceDefinition, blinded
from medsvc.results.at_rest import SEALED
from medsvc.results.blind_params import BLINDED

_VALUE_TYPES = frozenset({"string", "quantity", "number"})
NOT_INDEXED = {
    "Observation": frozenset({"value-date", "gene-identifier"}),
    "DocumentReference": frozenset({"location"}),
}


def _indexed(definition: ResourceDefinition, sealed: bool) -> ResourceDefinition:
    dropped = NOT_INDEXED.get(definition.type, frozenset())
    params = {
        code: param
        for code, param in definition.params.items()
        if param.type not in _VALUE_TYPES and code not in dropped
    }
    return replace(definition, params=params, indexed_by=ParamsByElement.of(params), sealed=sealed)


def apply(definitions: Definitions, index: BlindIndex, *, sealed: bool = True) -> Definitions:
    """The results' types protected; sealed False (benchmarks only) stores them unsealed."""
    resources = dict(definitions.resources)
    for resource_type in SEALED:
        resources[resource_type] = _indexed(resources[resource_type], sealed)
    return blinded(replace(definitions, resources=resources), index, BLINDED)
