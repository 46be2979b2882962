"""Plugs the access policy into the FHIR engine, by create_app(): which roles write which
types, the compartments and granular scopes on every read and write, hospitals finding
patients by identifier, the care relationship's own rules and $break-glass."""

from medsvc.access import (
    authorship,
    binaries,
    break_glass,
    care_team,
    organizations,
    proxies,
    proxy_ending,
    proxy_recording,
    rules,
    self_care,
    write_policy,
)
from medsvc.access.care import OWN_WORK, Care
from medsvc.config import Settings
from medsvc.fhir import ALL_TYPES, FhirServer


def install(server: FhirServer, settings: Settings) -> None:
    """Runs before any domain installs its hooks: the policy decides first."""
    registry = server.registry
    care = Care(settings.care_days_after)
    access = rules.AccessRules(server, care)
    placement = binaries.BinaryPlacement(server.base_url, care)
    own_work = authorship.Authorship(server.base_url)
    registry.read_filters.append(access.read_filter)
    registry.identifications.append(organizations.identification)
    registry.organization_view = organizations.seen_by
    # First which roles write which types at all (no query needed), then the compartments
    # and the care relationship.
    registry.on_write(ALL_TYPES, before=write_policy.before_write)
    registry.on_write(ALL_TYPES, before=access.before_write, after=access.after_write)
    registry.on_write(["CareTeam"], before=care_team.before_write, after=care_team.after_write)
    registry.on_write(OWN_WORK, before=own_work.before_write)
    registry.on_write(["Appointment"], before=self_care.before_write)
    recording = proxy_recording.HospitalProxies(
        settings.resident_id_system, proxies.ChildAge.of(settings)
    )
    registry.on_write(
        ["RelatedPerson"], before=proxy_ending.before_write, after=proxy_ending.after_write
    )
    registry.on_write(["RelatedPerson"], after=recording.after_write)
    registry.on_write(["Binary"], before=placement.before_write)
    registry.add_operation(break_glass.operation(server.definitions, settings.break_glass_minutes))
