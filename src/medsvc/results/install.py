"""Plugs results into the FHIR layer: the refusal of stale pushes, the lab essentials, where
a Binary may be written, the release policy and its read filter, the results kept from a
child's guardians, and the $operations, registered by create_app()."""

from medsvc.config import Settings
from medsvc.fhir import FhirServer
from medsvc.results import binaries, essentials, guardians, release, stale_pushes
from medsvc.results.operations import release as release_operation
from medsvc.results.operations import release_choice, waiting_results, withhold
from medsvc.results.release_rules import parse_rules


def install(server: FhirServer, settings: Settings) -> None:
    registry = server.registry
    checks = essentials.Essentials(server.base_url, server.sealer)
    binary_rules = binaries.BinaryRules(server.base_url)
    rules = parse_rules(settings.release_rules, settings.release_preliminary)
    policy = release.ReleasePolicy(rules, server.base_url, server.sealer)
    registry.on_write(stale_pushes.ORDERED_TYPES, before=stale_pushes.before_write)
    registry.on_write(essentials.RESULT_TYPES, before=checks.check_result)
    registry.on_write(essentials.NAMING_THEIR_PATIENT, before=checks.check_patient_named)
    registry.on_write(["Binary"], before=binary_rules.before_write)
    registry.on_write(release.RELEASED_TYPES, after=policy.after_write)
    registry.read_filters.append(release.read_filter)
    withholding = guardians.GuardianWithholding.of(
        settings.guardian_withheld_results, server.definitions, settings.timezone
    )
    registry.read_filters.append(withholding.read_filter)
    for module in (withhold, release_operation, release_choice, waiting_results):
        registry.add_operation(module.operation(server.definitions))
