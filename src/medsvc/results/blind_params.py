"""Which search parameters of the results' types are indexed as blind index tokens: the codes
and categories that say what was tested, found or sent (an HIV test, a pregnancy test)."""

from medsvc.crypto.blind_index import BlindIndex
from medsvc.fhir import blinding
from medsvc.fhir.definitions import Definitions

BLINDED = {
    "DiagnosticReport": frozenset({"code", "category", "conclusion"}),
    "Observation": frozenset(
        {
            "code",
            "category",
            "component-code",
            "combo-code",
            "value-concept",
            "component-value-concept",
            "combo-value-concept",
            "data-absent-reason",
            "component-data-absent-reason",
            "combo-data-absent-reason",
            "method",
        }
    ),
    "ServiceRequest": frozenset({"code", "category", "body-site"}),
    "Specimen": frozenset({"type", "bodysite"}),
    "DocumentReference": frozenset({"type", "category"}),
}


def apply(definitions: Definitions, index: BlindIndex) -> Definitions:
    return blinding.blinded(definitions, index, BLINDED)
