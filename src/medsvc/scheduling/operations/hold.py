"""Appointment/$hold (IHE ITI-116): a pending Appointment whose slot is kept for the hold
period; nobody else can hold or book it until the hold is booked, cancelled or ends."""

from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.operations.parameters import read_inputs
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.scheduling.operations import requests


def hold(call: OperationCall) -> Result:
    result = requests.take(call, read_inputs(call), "pending")
    return requests.bundle(call, [result])


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "hold",
        frozenset({"type"}),
        hold,
        definitions.operations["hold"],
        affects_state=True,
        types=frozenset({"Appointment"}),
    )
