"""[DiagnosticReport|Observation|DocumentReference]/[id]/$release: a clinician releases a
result (a report with its Observations) to its patient now: after their review, or ending
their hold."""

from medsvc.fhir import Definitions, Operation, OperationCall, Result
from medsvc.results import holds
from medsvc.results.operations.clinician import caller, result_for_clinician


def release(call: OperationCall) -> Result:
    stored = result_for_clinician(call)
    holds.release(call.session, stored, call.server.base_url, caller(call))
    return Result(200, stored)


def operation(definitions: Definitions) -> Operation:
    return Operation(definitions.operation("Result-release"), release)
