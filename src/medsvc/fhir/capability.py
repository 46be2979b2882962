"""The CapabilityStatement, generated from what the server implements (capabilitystatement.html)."""

from typing import Any

from medsvc import clock
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.definitions import ResourceDefinition
from medsvc.fhir.server import FhirServer


def _resource(server: FhirServer, definition: ResourceDefinition) -> dict[str, Any]:
    searchable = "search-type" in definition.interactions
    writable = "update" in definition.interactions
    entry: dict[str, Any] = {
        "type": definition.type,
        "profile": definition.structure["url"],
        "interaction": [{"code": code} for code in definition.interactions],
        "versioning": "versioned-update" if writable else "versioned",
        "readHistory": True,
        "updateCreate": writable,
        "conditionalCreate": searchable,
        "conditionalRead": "full-support",
        "conditionalUpdate": searchable and writable,
        "conditionalDelete": "single" if searchable and writable else "not-supported",
        "referencePolicy": ["literal", "logical"],
    }
    if definition.documentation:
        entry["documentation"] = definition.documentation
    if searchable:
        references = sorted(p.code for p in definition.params.values() if p.type == "reference")
        entry["searchInclude"] = [f"{definition.type}:{code}" for code in references]
        entry["searchRevInclude"] = sorted(
            f"{other.type}:{p.code}"
            for other in server.definitions.resources.values()
            for p in other.params.values()
            if p.type == "reference" and definition.type in p.targets
        )
        entry["searchParam"] = [
            {
                "name": "_id",
                "definition": "http://hl7.org/fhir/SearchParameter/Resource-id",
                "type": "token",
            },
            *(
                {
                    "name": p.code,
                    "definition": p.url,
                    "type": p.type,
                    "documentation": p.description,
                }
                for p in sorted(definition.params.values(), key=lambda p: p.code)
            ),
        ]
    operations = [
        {"name": op.name, "definition": op.definition.url}
        for op in server.registry.operations.values()
        if "instance" in op.levels or "type" in op.levels
        if op.types is None or definition.type in op.types
    ]
    if operations and searchable:
        entry["operation"] = operations
    return entry


def capability_statement(
    server: FhirServer, security: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement = dict(server.definitions.capability_source)
    statement["date"] = format_instant(clock.now())
    statement["implementation"] = {"description": "medsvc FHIR API", "url": server.base_url}
    rest: dict[str, Any] = {"mode": "server"}
    if security:
        rest["security"] = security
    rest["resource"] = [_resource(server, d) for d in server.definitions.resources.values()]
    rest["interaction"] = [{"code": "transaction"}, {"code": "batch"}]
    system_operations = [
        {"name": op.name, "definition": op.definition.url}
        for op in server.registry.operations.values()
        if "system" in op.levels
    ]
    if system_operations:
        rest["operation"] = system_operations
    for amend in server.registry.capability_amendments:
        amend(rest)
    statement["rest"] = [rest]
    return statement
