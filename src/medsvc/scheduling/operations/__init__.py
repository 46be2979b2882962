"""The scheduling $operations of Appointment: $find, $hold, $book and $cancel."""
