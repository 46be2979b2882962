"""What a citizen's app reads: their reports by category, code and date with their results
included, newest first; a trend of one test; and $everything, each only what is released to
them, on sealed and blind-indexed storage."""

from typing import Any

import httpx

from tests.conftest import Backend
from tests.factories import FHIR_JSON, observation
from tests.fhir.test_search import post
from tests.results.test_release import NATIONAL_ID, Clinic, Opener
from tests.scheduling.clinic import citizen_context

LOINC = "http://loinc.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


def report(
    clinic: Clinic, day: str, category: str, code: str, value: float, status: str = "final"
) -> dict[str, str]:
    """A report of one Observation taken on the day; returns their ids."""
    subject = f"Patient?identifier={NATIONAL_ID}|{clinic.national_id}"
    taken = f"2026-11-{day}T08:00:00+02:00"
    result = {
        **observation(subject, code=code, value=value, status=status),
        "effectiveDateTime": taken,
    }
    diagnostic = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [{"system": V2_0074, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": f"panel-{code}"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": taken,
        "issued": f"2026-11-{day}T12:00:00+02:00",
        "result": [{"reference": "urn:uuid:reads-o"}],
        "resultsInterpreter": [{"reference": f"Practitioner/{clinic.doctor_id}"}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:reads-o",
                "resource": result,
                "request": {"method": "POST", "url": "Observation"},
            },
            {"resource": diagnostic, "request": {"method": "POST", "url": "DiagnosticReport"}},
        ],
    }
    response = clinic.client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    observation_id, report_id = (
        e["response"]["location"].split("/_history")[0].rsplit("/", 1)[1]
        for e in response.json()["entry"]
    )
    return {"Observation": observation_id, "DiagnosticReport": report_id}


def searched(http: httpx.Client, resource_type: str, **params: str) -> list[dict[str, Any]]:
    response = http.get(f"/{resource_type}", params=params)
    assert response.status_code == 200, response.text
    return list(response.json().get("entry", []))


def ids(entries: list[dict[str, Any]], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in entries if e["search"]["mode"] == mode]


def test_reports_by_category_code_and_date_newest_first_with_their_results(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    early = report(clinic, "02", "LAB", "2160-0", 1.1)
    late = report(clinic, "20", "LAB", "2160-0", 1.4)
    scan = report(clinic, "10", "RAD", "24627-2", 0.0)
    draft = report(clinic, "25", "LAB", "2160-0", 9.9, status="preliminary")
    mine = {"patient": f"Patient/{clinic.patient_id}"}
    newest_first = searched(clinic.citizen, "DiagnosticReport", **mine, _sort="-date")
    assert ids(newest_first) == [
        late["DiagnosticReport"],
        scan["DiagnosticReport"],
        early["DiagnosticReport"],
    ]
    lab = searched(clinic.citizen, "DiagnosticReport", **mine, category="LAB", _sort="-date")
    assert ids(lab) == [late["DiagnosticReport"], early["DiagnosticReport"]]
    by_code = searched(clinic.citizen, "DiagnosticReport", **mine, code=f"{LOINC}|panel-24627-2")
    assert ids(by_code) == [scan["DiagnosticReport"]]
    since = searched(clinic.citizen, "DiagnosticReport", **mine, date="ge2026-11-10", _sort="date")
    assert ids(since) == [scan["DiagnosticReport"], late["DiagnosticReport"]]
    before = searched(clinic.citizen, "DiagnosticReport", **mine, date="lt2026-11-10")
    assert ids(before) == [early["DiagnosticReport"]]
    included = searched(
        clinic.citizen,
        "DiagnosticReport",
        **mine,
        category="LAB",
        _include="DiagnosticReport:result",
    )
    assert sorted(ids(included, "include")) == sorted([early["Observation"], late["Observation"]])
    assert draft["DiagnosticReport"] not in ids(newest_first)
    doctor = searched(clinic.doctor, "DiagnosticReport", **mine, _sort="-date")
    assert ids(doctor)[0] == draft["DiagnosticReport"]  # clinicians see what is not released


def test_a_trend_of_one_test(client: httpx.Client, clean: Backend, acting_as: Opener) -> None:
    clinic = Clinic(client, acting_as)
    for day, value in (("05", 1.3), ("01", 1.1), ("12", 1.6)):
        report(clinic, day, "LAB", "2160-0", value)
    report(clinic, "08", "LAB", "718-7", 14.0)
    report(clinic, "15", "LAB", "2160-0", 2.2, status="preliminary")
    trend = searched(
        clinic.citizen,
        "Observation",
        patient=f"Patient/{clinic.patient_id}",
        code="2160-0",
        _sort="date",
    )
    assert [e["resource"]["valueQuantity"]["value"] for e in trend] == [1.1, 1.3, 1.6]


def test_everything_is_what_the_caller_may_see(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    released = report(clinic, "02", "LAB", "2160-0", 1.1)
    draft = report(clinic, "03", "LAB", "2160-0", 1.2, status="preliminary")
    other = Clinic(client, acting_as, national_id="090909-0909")
    theirs = report(other, "04", "LAB", "2160-0", 1.3)
    url = f"/Patient/{clinic.patient_id}/$everything"
    response = clinic.citizen.get(url)
    assert response.status_code == 200, response.text
    found = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in response.json()["entry"]}
    assert found == {
        ("Patient", clinic.patient_id),
        ("Appointment", clinic.appointment_id),
        ("DiagnosticReport", released["DiagnosticReport"]),
        ("Observation", released["Observation"]),
    }
    assert response.json()["total"] == 4
    by_doctor = {e["resource"]["id"] for e in clinic.doctor.get(url).json()["entry"]}
    assert {draft["DiagnosticReport"], draft["Observation"]} <= by_doctor
    assert not set(theirs.values()) & by_doctor
    assert other.citizen.get(url).status_code == 404
    stranger = acting_as(citizen_context(post(client, {"resourceType": "Patient"})["id"]))
    assert stranger.get(url).status_code == 404
