"""Schedule, Slot and Appointment: booking invariants, holds, templates, reminders, $operations."""
