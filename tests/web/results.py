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
LOW = [{"coding": [{"system": INTERPRETATION, "code": "L"}]}]
NORMAL = [{"coding": [{"system": INTERPRETATION, "code": "N"}]}]
UCUM = {"unit": "mg/dL", "system": "http://unitsofmeasure.org", "code": "mg/dL"}
RANGE = [{"low": {"value": 0.6, **UCUM}, "high": {"value": 1.2, **UCUM}}]


def push_results(
    client: httpx.Client,
    acting_as: Open,
    national_id: str,
    report_id: str,
    creatinine: float = 1.5,
    effective: str = "2026-11-02T08:30:00+02:00",
    **settings: str,
) -> None:
    """The push of one report; creatinine and effective set its creatinine's value and time,
    settings the server's that receives it (release_rules)."""
    organization = client.post(
        "/Organization",
        json={"resourceType": "Organization", "name": "City Lab"},
        headers=FHIR_JSON,
    ).json()["id"]
    hospital = acting_as(hospital_context(organization), **settings)
    bundle: dict[str, Any] = with_entry(
        lab_bundle(national_id, report_id),
        "Observation",
        code=CREATININE,
        referenceRange=RANGE,
        interpretation=HIGH if creatinine > 1.2 else LOW if creatinine < 0.6 else NORMAL,
        effectiveDateTime=effective,
        valueQuantity={"value": creatinine, **UCUM},
    )
    pushed = hospital.post("/", json=bundle, headers=FHIR_JSON)
    assert pushed.status_code == 200, pushed.text


__all__ = ["PDF", "push_results"]
