"""The FHIR engine's one public seam: everything a domain, the access policy, the audit, the
notices, the CLI and the app may use of it. Its other modules are the engine's own.

Modules exported whole are namespaces of small helpers: jsonio (stored JSON in and out),
datetimes (FHIR instants and ranges), references (the one reference parser), interactions
(create, read, update and delete as a caller would), pending (batched index rows) and index
(the search index as read-only SQL, for read filters and queries the database must answer).
"""

from medsvc.fhir import datetimes, index, interactions, jsonio, pending, references
from medsvc.fhir.answers import Result
from medsvc.fhir.blinding import Blinder, blinded
from medsvc.fhir.bundle import parse_bundle, run_transaction
from medsvc.fhir.compartments import PATIENT_COMPARTMENT, in_compartment
from medsvc.fhir.definitions import (
    Definitions,
    ParamsByElement,
    ResourceDefinition,
    get_definitions,
)
from medsvc.fhir.interactions import new_id
from medsvc.fhir.limits import Limits, limits_from
from medsvc.fhir.numbers import natural
from medsvc.fhir.operations import everything, validate
from medsvc.fhir.operations.parameters import Inputs, local_id, read_inputs
from medsvc.fhir.references import BadReference
from medsvc.fhir.registry import (
    ALL_TYPES,
    Operation,
    OperationCall,
    OrganizationView,
    Registry,
    RequestAudit,
    TopicEvent,
    WriteEvent,
)
from medsvc.fhir.reindex import reindex_batch
from medsvc.fhir.router import interaction as interaction_of
from medsvc.fhir.routes import CONTENT_TYPE, ROUTES
from medsvc.fhir.sealing import Place, Sealer
from medsvc.fhir.search.params import Criterion, QueryParser
from medsvc.fhir.search.sql import Compiler
from medsvc.fhir.search.values import token_value
from medsvc.fhir.server import FhirServer
from medsvc.fhir.shared_ctes import made_once
from medsvc.fhir.store import (
    Stored,
    add_version,
    erase_sealed,
    insert_resource,
    read_current,
    read_version,
)

__all__ = [
    "ALL_TYPES",
    "CONTENT_TYPE",
    "PATIENT_COMPARTMENT",
    "ROUTES",
    "BadReference",
    "Blinder",
    "Compiler",
    "Criterion",
    "Definitions",
    "FhirServer",
    "Inputs",
    "Limits",
    "Operation",
    "OperationCall",
    "OrganizationView",
    "ParamsByElement",
    "Place",
    "QueryParser",
    "Registry",
    "RequestAudit",
    "ResourceDefinition",
    "Result",
    "Sealer",
    "Stored",
    "TopicEvent",
    "WriteEvent",
    "add_version",
    "blinded",
    "datetimes",
    "erase_sealed",
    "everything",
    "get_definitions",
    "in_compartment",
    "index",
    "insert_resource",
    "interaction_of",
    "interactions",
    "jsonio",
    "limits_from",
    "local_id",
    "made_once",
    "natural",
    "new_id",
    "parse_bundle",
    "pending",
    "read_current",
    "read_inputs",
    "read_version",
    "references",
    "reindex_batch",
    "run_transaction",
    "token_value",
    "validate",
]
