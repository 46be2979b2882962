"""Appointment/$book (IHE ITI-117): books a held or proposed appointment, or slots by
reference; with cancelled-appt-id it reschedules: the old appointment is cancelled and the
new one booked in one transaction, or neither."""

from medsvc.errors import Invalid
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.operations.parameters import local_id, read_inputs
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.scheduling.operations import requests
from medsvc.scheduling.operations.cancel import cancel_appointment

RESCHEDULED = {"text": "Rescheduled"}


def book(call: OperationCall) -> Result:
    inputs = read_inputs(call)
    replaced = inputs.one("cancelled-appt-id", "cancelled-appointment")
    if replaced is not None:
        # The old one goes first, so that its seat does not count against the patient's
        # limits; if the new booking then fails, the transaction undoes both.
        replaced_id = local_id(replaced, "Appointment", call.server.base_url, "cancelled-appt-id")
        if replaced_id is None:
            raise Invalid("cancelled-appt-id is a reference such as Appointment/123")
        cancel_appointment(call, replaced_id, RESCHEDULED)
    result = requests.take(call, inputs, "booked")
    return requests.bundle(call, [result])


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "book",
        frozenset({"type"}),
        book,
        definitions.operations["book"],
        affects_state=True,
        types=frozenset({"Appointment"}),
    )
