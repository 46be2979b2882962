"""What the FHIR interactions run with: the public base URL, the definitions, the registry,
the limits on what one request may hold, and the sealer of the sealed types' versions."""

from dataclasses import dataclass, field
from functools import partial

from medsvc.errors import MethodNotAllowed, NotFound
from medsvc.fhir.definitions import Definitions, ResourceDefinition
from medsvc.fhir.limits import Limits
from medsvc.fhir.registry import Registry
from medsvc.fhir.sealing import Sealer
from medsvc.fhir.search.sql import Compiler
from medsvc.security.context import AuthContext


@dataclass(frozen=True)
class FhirServer:
    base_url: str
    definitions: Definitions
    registry: Registry
    default_page_size: int = 20
    max_page_size: int = 1000
    limits: Limits = field(default_factory=Limits)
    sealer: Sealer | None = None  # without one, no sealed type is written or read

    def definition(self, resource_type: str, interaction: str) -> ResourceDefinition:
        """The definition of a supported type, or 404; 405 when it lacks the interaction."""
        definition = self.definitions.resource(resource_type)
        if definition is None:
            raise NotFound(f"The resource type '{resource_type}' is not supported here")
        if interaction not in definition.interactions:
            raise MethodNotAllowed(f"{resource_type} does not support {interaction}")
        return definition

    def compiler(self, ctx: AuthContext) -> Compiler:
        return Compiler(self.base_url, partial(self.registry.read_filter, ctx))
