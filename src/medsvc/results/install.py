"""Plugs results into the FHIR layer: the refusal of stale pushes, the lab essentials, where
a Binary may be written, the release policy and its read filter, and the $operations,
registered by create_app()."""

from medsvc.access.care import Care
from medsvc.config import Settings
from medsvc.fhir.server import FhirServer
from medsvc.results import binaries, essentials, release, stale_pushes
from medsvc.results.operations import release as release_operation
from medsvc.results.operations import release_choice, withhold
from medsvc.results.release_rules import parse_rules


def install(server: FhirServer, settings: Settings) -> None:
    registry = server.registry
    registry.before_write.append(stale_pushes.before_write)
    registry.before_write.append(essentials.Essentials(server.base_url, server.sealer))
    registry.before_write.append(
        binaries.BinaryRules(server.base_url, Care(settings.care_days_after))
    )
    rules = parse_rules(settings.release_rules, settings.release_preliminary)
    registry.after_write.append(release.ReleasePolicy(rules, server.base_url, server.sealer))
    registry.read_filters.append(release.read_filter)
    for module in (withhold, release_operation, release_choice):
        registry.add_operation(module.operation(server.definitions))
