"""[DiagnosticReport|Observation|DocumentReference]/[id]/$release: a clinician releases a
result (a report with its Observations) to its patient now: after their review, or ending
their hold."""

from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.results import holds
from medsvc.results.operations.clinician import caller, result_for_clinician
from medsvc.results.release import RELEASED_TYPES


def release(call: OperationCall) -> Result:
    stored = result_for_clinician(call)
    holds.release(call.session, stored, call.server.base_url, caller(call))
    return Result(200, stored)


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "release",
        frozenset({"instance"}),
        release,
        definitions.operations["release"],
        affects_state=True,
        types=RELEASED_TYPES,
    )
