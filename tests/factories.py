"""Small builders of valid resources for tests."""

from typing import Any

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def patient(mrn: str = "12345", family: str = "Virtanen", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.246.21", "value": mrn}],
        "name": [{"family": family, "given": ["Aino"]}],
        **extra,
    }


def practitioner(code: str = "p1", family: str = "Korhonen") -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": "urn:city:practitioner", "value": code}],
        "name": [{"family": family, "given": ["Mikko"]}],
    }


def schedule(actor: str) -> dict[str, Any]:
    return {"resourceType": "Schedule", "active": True, "actor": [{"reference": actor}]}


def slot(schedule_ref: str, start: str, end: str, status: str = "free") -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "schedule": {"reference": schedule_ref},
        "status": status,
        "start": start,
        "end": end,
    }


OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# What a final DiagnosticReport must say besides its status, code and subject (the lab
# essentials of results/essentials.py).
REPORT_ESSENTIALS = {
    "category": [
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}
    ],
    "effectiveDateTime": "2026-11-02T08:30:00+02:00",
    "issued": "2026-11-02T14:00:00+02:00",
}


def observation(
    subject: str, code: str = "2160-0", value: float = 1.5, status: str = "final"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2026-11-02T08:30:00+02:00",
        "issued": "2026-11-02T14:00:00+02:00",
        "valueQuantity": {
            "value": value,
            "unit": "mg/dL",
            "system": "http://unitsofmeasure.org",
            "code": "mg/dL",
        },
    }


def appointment(
    patient_ref: str,
    practitioner_ref: str,
    status: str = "booked",
    start: str = "2030-01-07T08:00:00Z",
) -> dict[str, Any]:
    """An Appointment of a patient with a practitioner, lasting 20 minutes from an hour's start."""
    return {
        "resourceType": "Appointment",
        "status": status,
        "start": start,
        "end": start.replace(":00:00Z", ":20:00Z"),
        "participant": [
            {"actor": {"reference": patient_ref}, "status": "accepted"},
            {"actor": {"reference": practitioner_ref}, "status": "accepted"},
        ],
    }
