"""Plugs the access policy into the FHIR engine, by create_app(): which roles write which
types, the compartments and granular scopes on every read and write, hospitals finding
patients by identifier, the care relationship's own rules and $break-glass."""

from medsvc.access import (
    authorship,
    binaries,
    break_glass,
    care_team,
    organizations,
    rules,
    self_care,
    write_policy,
)
from medsvc.access.care import Care
from medsvc.config import Settings
from medsvc.fhir import FhirServer


def install(server: FhirServer, settings: Settings) -> None:
    """Runs before any domain installs its hooks: the policy decides first."""
    registry = server.registry
    # First which roles write which types at all (no query needed), then the compartments
    # and the care relationship.
    write_policy.install(server)
    care = Care(settings.care_days_after)
    rules.install(server, care)
    registry.identifications.append(organizations.identification)
    registry.organization_view = organizations.seen_by
    registry.before_write.append(care_team.before_write)
    registry.after_write.append(care_team.after_write)
    registry.before_write.append(authorship.checker(server.base_url))
    registry.before_write.append(self_care.before_write)
    registry.before_write.append(binaries.BinaryPlacement(server.base_url, care).before_write)
    registry.add_operation(break_glass.operation(server.definitions, settings.break_glass_minutes))
