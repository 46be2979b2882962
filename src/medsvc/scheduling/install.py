"""Plugs scheduling into the FHIR layer: the Slot and Appointment hooks and the
$operations, registered by create_app()."""

from medsvc.config import Settings
from medsvc.fhir import FhirServer
from medsvc.notify.notifier import Notifier
from medsvc.scheduling import booking, changes, reminders, responses, rules, slots, templates
from medsvc.scheduling.operations import book, cancel, find, hold


def install(
    server: FhirServer, settings: Settings, notifier: Notifier, schedules_of: find.SchedulesOf
) -> None:
    """schedules_of: an organization's Schedules, as the directory has them ($find)."""
    registry = server.registry
    answers = responses.ResponseHook(server)
    registry.before_write += [
        slots.before_write,
        templates.before_write,
        rules.BookingRules(rules.Limits.from_settings(settings), server.base_url),
        answers.before_write,
    ]
    registry.after_write += [
        slots.after_write,
        booking.BookingLedger(server, reminders.reminder_hours(settings.reminder_hours)),
        answers.after_write,
        changes.HospitalChanges(notifier, server.base_url),
    ]
    registry.add_operation(find.operation(server.definitions, schedules_of))
    for module in (hold, book, cancel):
        registry.add_operation(module.operation(server.definitions))
