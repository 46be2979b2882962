"""Plugs the care relationship into the FHIR layer: who writes a CareTeam, who names themselves
in their own work, who books a practitioner's appointments, $break-glass and the audit of
what is read under it, by create_app()."""

from medsvc.access import authorship, break_glass, care_team, self_care
from medsvc.config import Settings
from medsvc.fhir.server import FhirServer


def install(server: FhirServer, settings: Settings) -> None:
    registry = server.registry
    registry.before_write.append(care_team.before_write)
    registry.after_write.append(care_team.after_write)
    registry.before_write.append(authorship.checker(server.base_url))
    registry.before_write.append(self_care.before_write)
    registry.add_operation(break_glass.operation(server.definitions, settings.break_glass_minutes))
    registry.audit_amendments.append(break_glass.mark_accesses)
