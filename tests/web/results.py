"""A lab's push of a citizen's results for the app's tests: a report with two observations (one
high, with its range and name), its PDF, written as a hospital's system."""

from typing import Any

import httpx

from tests.factories import FHIR_JSON
from tests.results.lab_push import PDF, lab_bundle, with_entry
from tests.scheduling.clinic import Open, hospital_context

CREATININE = {
    "text": "Creatinine",
    "coding": [{"system": "http://loinc.org", "code": "2160-0", "display": "Creatinine"}],
}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
HIGH = [{"coding": [{"system": INTERPRETATION, "code": "H"}]}]
UCUM = {"unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}
RANGE = [{"low": {"value": 0.6, **UCUM}, "high": {"value": 1.2, **UCUM}}]


def push_results(client: httpx.Client, acting_as: Open, national_id: str, report_id: str) -> None:
    organization = client.post(
        "/Organization",
        json={"resourceType": "Organization", "name": "City Lab"},
        headers=FHIR_JSON,
    ).json()["id"]
    hospital = acting_as(hospital_context(organization))
    bundle: dict[str, Any] = with_entry(
        lab_bundle(national_id, report_id),
        "Observation",
        code=CREATININE,
        interpretation=HIGH,
        referenceRange=RANGE,
    )
    pushed = hospital.post("/", json=bundle, headers=FHIR_JSON)
    assert pushed.status_code == 200, pushed.text


__all__ = ["PDF", "push_results"]
