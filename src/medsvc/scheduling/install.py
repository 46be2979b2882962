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
    booking_rules = rules.BookingRules(rules.Limits.from_settings(settings), server.base_url)
    seats = booking.BookingLedger(server, reminders.reminder_hours(settings.reminder_hours))
    answers = responses.ResponseHook(server)
    notices = changes.HospitalChanges(notifier, server.base_url)
    registry.on_write(["Slot"], before=slots.before_write, after=slots.after_write)
    registry.on_write(["Schedule"], before=templates.before_write)
    registry.on_write(["Appointment"], before=booking_rules.before_write, after=seats.after_write)
    registry.on_write(
        ["AppointmentResponse"], before=answers.before_write, after=answers.after_write
    )
    registry.on_write(["Appointment"], after=notices.after_write)
    registry.add_operation(find.operation(server.definitions, schedules_of))
    for module in (hold, book, cancel):
        registry.add_operation(module.operation(server.definitions))
