"""The results benchmark's requests: a lab's push as hospitals send it (tests/results/
test_pushes.py), one transaction Bundle with the patient found by national id and a
DiagnosticReport with 20 Observations, each written by conditional update on the lab's own
identifier; and the Patients those pushes find."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NATIONAL_ID = "urn:oid:1.2.246.21"
LAB = "urn:lab:bench"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
PANEL = "24323-8"  # comprehensive metabolic panel
# Twenty tests of a blood panel: LOINC code, UCUM unit, a typical value.
TESTS = (
    ("2160-0", "mg/dL", 0.9),
    ("718-7", "g/dL", 14.1),
    ("2345-7", "mg/dL", 92.0),
    ("2951-2", "mmol/L", 140.0),
    ("2823-3", "mmol/L", 4.2),
    ("2075-0", "mmol/L", 103.0),
    ("2028-9", "mmol/L", 25.0),
    ("3094-0", "mg/dL", 14.0),
    ("17861-6", "mg/dL", 9.6),
    ("2885-2", "g/dL", 7.1),
    ("1751-7", "g/dL", 4.4),
    ("1975-2", "mg/dL", 0.7),
    ("6768-6", "U/L", 71.0),
    ("1742-6", "U/L", 22.0),
    ("1920-8", "U/L", 24.0),
    ("6690-2", "10*3/uL", 6.3),
    ("789-8", "10*6/uL", 4.8),
    ("4544-3", "%", 42.0),
    ("777-3", "10*3/uL", 250.0),
    ("2093-3", "mg/dL", 182.0),
)
FIRST_TAKEN = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


def national_id(n: int) -> str:
    return f"0{n % 9 + 1}0{n % 7 + 1}80-{n:05d}"


def patient(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "active": True,
        "identifier": [{"system": NATIONAL_ID, "value": national_id(n)}],
        "name": [{"family": "Virtanen", "given": ["Aino"]}],
        "gender": "female",
        "birthDate": "1980-05-17",
    }


def patients_transaction(count: int) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(n), "request": {"method": "POST", "url": "Patient"}}
            for n in range(count)
        ],
    }


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def push(national: str, report_id: str, taken: datetime) -> dict[str, Any]:
    """The lab's Bundle: 20 Observations and their DiagnosticReport, each a conditional update
    on the lab's identifier (new identifiers: 21 resources created), the Patient found by a
    conditional reference. Meets the lab essentials (results/essentials.py)."""
    subject = {"reference": f"Patient?identifier={NATIONAL_ID}|{national}"}
    effective, issued = _instant(taken), _instant(taken + timedelta(hours=5))
    entries = []
    for code, unit, value in TESTS:
        identifier = f"{report_id}-{code}"
        entries.append(
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "identifier": [{"system": LAB, "value": identifier}],
                    "category": [_concept(OBSERVATION_CATEGORY, "laboratory")],
                    "code": _concept(LOINC, code),
                    "subject": subject,
                    "effectiveDateTime": effective,
                    "issued": issued,
                    "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
                },
                "request": {"method": "PUT", "url": f"Observation?identifier={LAB}|{identifier}"},
            }
        )
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "identifier": [{"system": LAB, "value": report_id}],
        "category": [_concept(REPORT_CATEGORY, "LAB")],
        "code": _concept(LOINC, PANEL),
        "subject": subject,
        "effectiveDateTime": effective,
        "issued": issued,
        "result": [{"reference": e["fullUrl"]} for e in entries],
    }
    entries.append(
        {
            "resource": report,
            "request": {"method": "PUT", "url": f"DiagnosticReport?identifier={LAB}|{report_id}"},
        }
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def push_lines(path: Path, prefix: str, count: int, patients: int) -> Path:
    """count pushes for bench/booking.lua (METHOD, path, body per line), each with
    identifiers of its own, the patients taken in turn."""
    with path.open("w") as out:
        for n in range(count):
            body = push(
                national_id(n % patients), f"{prefix}-{n}", FIRST_TAKEN + timedelta(minutes=n)
            )
            out.write(f"POST\t/fhir\t{json.dumps(body, separators=(',', ':'))}\n")
    return path
