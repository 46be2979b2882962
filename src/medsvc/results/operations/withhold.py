"""[DiagnosticReport|Observation|DocumentReference]/[id]/$withhold: a clinician keeps a result
(a report with its Observations) from its patient, with a reason, until they release it."""

from medsvc.errors import Invalid
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.operations.parameters import read_inputs
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.results import holds
from medsvc.results.operations.clinician import caller, result_for_clinician
from medsvc.results.release import RELEASED_TYPES


def withhold(call: OperationCall) -> Result:
    reason = read_inputs(call).one("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("$withhold needs a reason (a string parameter)")
    stored = result_for_clinician(call)
    holds.hold(call.session, stored, call.server.base_url, caller(call), reason.strip())
    return Result(200, stored)


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "withhold",
        frozenset({"instance"}),
        withhold,
        definitions.operations["withhold"],
        affects_state=True,
        types=RELEASED_TYPES,
    )
