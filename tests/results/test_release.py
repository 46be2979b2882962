"""Releasing results to their patients: final ones at once, preliminary ones never by default,
a patient's choice of a clinician's review first, a clinician's hold with a reason and their
release, per-category delays released by the job, notices without content, and the log."""

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import exc, select, text

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.jobs import jobs, run_once
from medsvc.results.release import LOG
from medsvc.security.context import platform_context
from tests.conftest import Backend, free_port, make_settings
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, appointment, observation, patient
from tests.fhir.test_search import post
from tests.scheduling.clinic import citizen_context, practitioner_context

NATIONAL_ID = "urn:oid:1.2.246.21"
LAB = "urn:lab:release"
IN_CHINESE = "您有一份新的检查结果已出，请登录查看。"
IN_ENGLISH = "A new result is ready for you. Sign in to read it."


Opener = Callable[..., httpx.Client]  # acting_as (tests/security/conftest.py)


def report_bundle(national_id: str, report_id: str, status: str, **extra: Any) -> dict[str, Any]:
    subject = f"Patient?identifier={NATIONAL_ID}|{national_id}"
    result = {
        **observation(subject, status=status),
        "identifier": [{"system": LAB, "value": f"{report_id}-o"}],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": LAB, "value": report_id}],
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": {"reference": subject},
        "result": [{"reference": "urn:uuid:release-o"}],
        **REPORT_ESSENTIALS,
        **extra,
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:release-o",
                "resource": result,
                "request": {"method": "PUT", "url": f"Observation?identifier={LAB}|{report_id}-o"},
            },
            {
                "resource": report,
                "request": {
                    "method": "PUT",
                    "url": f"DiagnosticReport?identifier={LAB}|{report_id}",
                },
            },
        ],
    }


class Clinic:
    """A patient, their doctor (with a booked appointment, and the reports' interpreter),
    and the platform pushing results."""

    def __init__(self, client: httpx.Client, acting_as: Opener, national_id: str = "010101-0101"):
        self.client = client
        self.national_id = national_id
        self.patient_id = post(client, patient(national_id))["id"]
        self.doctor_id = post(
            client, {"resourceType": "Practitioner", "name": [{"family": "Lind"}]}
        )["id"]
        visit = appointment(f"Patient/{self.patient_id}", f"Practitioner/{self.doctor_id}")
        self.appointment_id = post(client, visit)["id"]
        self.citizen = acting_as(citizen_context(self.patient_id))
        self.doctor = acting_as(practitioner_context(self.doctor_id))

    def push(
        self, report_id: str, status: str = "final", client: httpx.Client | None = None
    ) -> dict[str, str]:
        interpreter = {"resultsInterpreter": [{"reference": f"Practitioner/{self.doctor_id}"}]}
        bundle = report_bundle(self.national_id, report_id, status, **interpreter)
        response = (client or self.client).post("/", json=bundle, headers=FHIR_JSON)
        assert response.status_code == 200, response.text
        locations = [e["response"]["location"] for e in response.json()["entry"]]
        observation_id, report_id_stored = (
            loc.split("/_history")[0].rsplit("/", 1)[1] for loc in locations
        )
        return {"Observation": observation_id, "DiagnosticReport": report_id_stored}


def sees(http: httpx.Client, ids: dict[str, str]) -> dict[str, bool]:
    """Whether the caller reads each result, by id and by search, alike."""
    found = {}
    for resource_type, resource_id in ids.items():
        read = http.get(f"/{resource_type}/{resource_id}").status_code
        searched = http.get(f"/{resource_type}", params={"_id": resource_id}).json()["total"]
        assert (read == 200) == (searched == 1), (resource_type, read, searched)
        assert read in (200, 404)
        found[resource_type] = read == 200
    return found


BOTH = {"Observation": True, "DiagnosticReport": True}
NEITHER = {"Observation": False, "DiagnosticReport": False}


def release_job(backend: Backend, now: datetime | None = None) -> int:
    job = next(
        j
        for j in jobs(fhir_server(backend.settings), backend.settings)
        if j.name == "release-results"
    )
    return run_once(backend.database, job, now)


def notices(client: httpx.Client, patient_id: str) -> list[dict[str, Any]]:
    bundle = client.get("/Communication", params={"subject": f"Patient/{patient_id}"}).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def logged(backend: Backend) -> list[tuple[str, str, str, str | None]]:
    with backend.database.session(write=False) as session:
        rows = session.execute(
            select(LOG.c.action, LOG.c.resource, LOG.c.by, LOG.c.reason).order_by(LOG.c.seq)
        )
        return [tuple(row) for row in rows]


def test_a_final_result_is_released_at_once_and_its_patient_told_once(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    ids = clinic.push("R-1")
    assert sees(clinic.citizen, ids) == BOTH
    assert release_job(clean) == 1
    told = notices(client, clinic.patient_id)
    assert len(told) == 1
    assert told[0]["payload"] == [{"contentString": IN_CHINESE}]  # the city's default
    assert told[0]["language"] == "zh-CN"
    assert "24323-8" not in str(told[0])
    assert "2160-0" not in str(told[0])
    assert release_job(clean) == 0
    assert len(notices(client, clinic.patient_id)) == 1
    assert [(a, r) for a, r, _by, _why in logged(clean)] == [
        ("released", f"Observation/{ids['Observation']}"),
        ("released", f"DiagnosticReport/{ids['DiagnosticReport']}"),
    ]


def test_a_patient_who_chose_english_is_told_in_english(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    english = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-GB"}]}}]
    chosen = {**patient(clinic.national_id), "id": clinic.patient_id, "communication": english}
    response = clinic.citizen.put(f"/Patient/{clinic.patient_id}", json=chosen, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    clinic.push("R-EN")
    assert release_job(clean) == 1
    [told] = notices(client, clinic.patient_id)
    assert told["payload"] == [{"contentString": IN_ENGLISH}]
    assert told["language"] == "en"


def test_a_preliminary_result_waits_for_final_and_others_see_it_meanwhile(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    ids = clinic.push("R-2", status="preliminary")
    assert sees(clinic.citizen, ids) == NEITHER
    assert sees(clinic.doctor, ids) == BOTH
    assert sees(client, ids) == BOTH
    included = clinic.citizen.get(
        "/DiagnosticReport",
        params={"patient": f"Patient/{clinic.patient_id}", "_include": "DiagnosticReport:result"},
    ).json()
    assert included["total"] == 0
    assert "entry" not in included
    assert release_job(clean) == 0
    assert clinic.push("R-2") == ids  # final now: a new version of each
    assert sees(clinic.citizen, ids) == BOTH


def test_preliminary_results_are_released_when_configured(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    platform = acting_as(
        platform_context("lab"),
        release_preliminary=True,
    )
    ids = clinic.push("R-3", status="preliminary", client=platform)
    assert sees(clinic.citizen, ids) == BOTH


def test_a_patient_who_chose_review_sees_results_only_once_a_clinician_releases_them(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    choice = {
        "resourceType": "Parameters",
        "parameter": [{"name": "afterReview", "valueBoolean": True}],
    }
    chose = clinic.citizen.post(
        f"/Patient/{clinic.patient_id}/$release-choice", json=choice, headers=FHIR_JSON
    )
    assert chose.status_code == 200, chose.text
    ids = clinic.push("R-4")
    assert sees(clinic.citizen, ids) == NEITHER
    assert release_job(clean) == 0
    assert notices(client, clinic.patient_id) == []
    released = clinic.doctor.post(
        f"/DiagnosticReport/{ids['DiagnosticReport']}/$release",
        json={"resourceType": "Parameters"},
        headers=FHIR_JSON,
    )
    assert released.status_code == 200, released.text
    assert sees(clinic.citizen, ids) == BOTH
    assert release_job(clean) == 1
    assert len(notices(client, clinic.patient_id)) == 1
    doctor = f"Practitioner/{clinic.doctor_id}"
    assert logged(clean) == [
        (
            "choice",
            f"Patient/{clinic.patient_id}",
            f"Patient/{clinic.patient_id}",
            "afterReview=true",
        ),
        ("released", f"DiagnosticReport/{ids['DiagnosticReport']}", doctor, None),
        ("released", f"Observation/{ids['Observation']}", doctor, None),
    ]


def test_only_the_patient_makes_their_choice(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    other = acting_as(citizen_context(post(client, patient("020202-0202"))["id"]))
    choice = {
        "resourceType": "Parameters",
        "parameter": [{"name": "afterReview", "valueBoolean": True}],
    }
    url = f"/Patient/{clinic.patient_id}/$release-choice"
    assert other.post(url, json=choice, headers=FHIR_JSON).status_code == 403
    assert clinic.doctor.post(url, json=choice, headers=FHIR_JSON).status_code == 403
    bad = {
        "resourceType": "Parameters",
        "parameter": [{"name": "afterReview", "valueString": "maybe"}],
    }
    assert clinic.citizen.post(url, json=bad, headers=FHIR_JSON).status_code == 400
    assert logged(clean) == []


def test_a_clinician_withholds_a_result_with_a_reason_and_releases_it_later(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    doctor = f"Practitioner/{clinic.doctor_id}"
    ids = clinic.push("R-5", status="preliminary")
    report = f"/DiagnosticReport/{ids['DiagnosticReport']}"
    reason = {
        "resourceType": "Parameters",
        "parameter": [{"name": "reason", "valueString": "to be discussed at the visit"}],
    }
    assert (
        clinic.citizen.post(f"{report}/$withhold", json=reason, headers=FHIR_JSON).status_code
        == 403
    )
    no_reason = clinic.doctor.post(
        f"{report}/$withhold", json={"resourceType": "Parameters"}, headers=FHIR_JSON
    )
    assert no_reason.status_code == 400
    held = clinic.doctor.post(f"{report}/$withhold", json=reason, headers=FHIR_JSON)
    assert held.status_code == 200, held.text
    clinic.push("R-5")  # final now, and still held
    assert sees(clinic.citizen, ids) == NEITHER
    assert release_job(clean) == 0
    released = clinic.doctor.post(
        f"{report}/$release", json={"resourceType": "Parameters"}, headers=FHIR_JSON
    )
    assert released.status_code == 200
    assert sees(clinic.citizen, ids) == BOTH
    late = clinic.doctor.post(f"{report}/$withhold", json=reason, headers=FHIR_JSON)
    assert late.status_code == 409
    assert logged(clean) == [
        (
            "held",
            f"DiagnosticReport/{ids['DiagnosticReport']}",
            doctor,
            "to be discussed at the visit",
        ),
        ("held", f"Observation/{ids['Observation']}", doctor, "to be discussed at the visit"),
        ("released", f"DiagnosticReport/{ids['DiagnosticReport']}", doctor, None),
        ("released", f"Observation/{ids['Observation']}", doctor, None),
    ]


@pytest.mark.parametrize(
    "statement", ["UPDATE release_log SET reason = 'changed'", "DELETE FROM release_log"]
)
def test_the_release_log_refuses_changes(
    client: httpx.Client, clean: Backend, acting_as: Opener, statement: str
) -> None:
    clinic = Clinic(client, acting_as)
    clinic.push("R-7")  # final: released at once, and logged
    before = logged(clean)
    assert before
    with (
        pytest.raises(exc.DBAPIError, match="append-only"),
        clean.database.session(write=True) as connection,
    ):
        connection.execute(text(statement))
    assert logged(clean) == before


def test_a_doctor_not_caring_for_the_patient_cannot_hold_or_release(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    stranger_id = post(client, {"resourceType": "Practitioner", "name": [{"family": "Muu"}]})["id"]
    stranger = acting_as(practitioner_context(stranger_id))
    ids = clinic.push("R-6", status="preliminary")
    report = f"/DiagnosticReport/{ids['DiagnosticReport']}"
    reason = {"resourceType": "Parameters", "parameter": [{"name": "reason", "valueString": "x"}]}
    assert stranger.post(f"{report}/$withhold", json=reason, headers=FHIR_JSON).status_code == 404
    assert (
        stranger.post(
            f"{report}/$release", json={"resourceType": "Parameters"}, headers=FHIR_JSON
        ).status_code
        == 404
    )
    other_citizen = acting_as(citizen_context(post(client, patient("030303-0303"))["id"]))
    assert (
        other_citizen.post(
            f"{report}/$release", json={"resourceType": "Parameters"}, headers=FHIR_JSON
        ).status_code
        == 403
    )
    assert sees(clinic.citizen, ids) == NEITHER
    assert logged(clean) == []


def test_a_category_delay_is_released_by_the_job_when_due(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    clock.set_source(lambda: start)
    clinic = Clinic(client, acting_as)
    platform = platform_context("lab")
    lab = acting_as(platform, release_rules="LAB=72h")
    ids = clinic.push("R-7", client=lab)
    assert sees(clinic.citizen, ids) == NEITHER
    assert release_job(clean, start + timedelta(hours=71)) == 0
    assert sees(clinic.citizen, ids) == NEITHER
    clock.set_source(lambda: start + timedelta(hours=72))
    assert release_job(clean, start + timedelta(hours=72)) == 1  # the report; and one notice
    assert sees(clinic.citizen, ids) == BOTH
    assert len(notices(client, clinic.patient_id)) == 1


def test_a_category_rule_of_review_waits_for_a_clinician(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    platform = platform_context("lab")
    lab = acting_as(
        platform, release_rules="http://terminology.hl7.org/CodeSystem/v2-0074|LAB=review"
    )
    ids = clinic.push("R-8", client=lab)
    assert sees(clinic.citizen, ids) == NEITHER  # the report's rule covers its results
    released = clinic.doctor.post(
        f"/DiagnosticReport/{ids['DiagnosticReport']}/$release",
        json={"resourceType": "Parameters"},
        headers=FHIR_JSON,
    )
    assert released.status_code == 200
    assert sees(clinic.citizen, ids) == BOTH


def test_release_rules_that_do_not_parse_stop_the_service_from_starting(clean: Backend) -> None:
    with pytest.raises(ValueError, match="72x"):
        fhir_server(make_settings(clean.url, free_port(), release_rules="LAB=72x"))


PDF = b"%PDF-1.4\n% a report\n%%EOF\n"


def document_bundle(national_id: str, doc_status: str) -> dict[str, Any]:
    """A report's PDF as a lab sends it: a DocumentReference and the Binary it carries, the
    Binary's security context the document (binary.html)."""
    subject = {"reference": f"Patient?identifier={NATIONAL_ID}|{national_id}"}
    document = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": LAB, "value": "D-1"}],
        "status": "current",
        "docStatus": doc_status,
        "subject": subject,
        "content": [{"attachment": {"contentType": "application/pdf", "url": "urn:uuid:pdf-1"}}],
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": {"reference": "urn:uuid:doc-1"},
        "data": base64.b64encode(PDF).decode(),
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:doc-1",
                "resource": document,
                "request": {"method": "POST", "url": "DocumentReference"},
            },
            {
                "fullUrl": "urn:uuid:pdf-1",
                "resource": binary,
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }


def test_a_citizen_reads_the_pdf_of_a_released_document_only(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    first = client.post(
        "/", json=document_bundle(clinic.national_id, "preliminary"), headers=FHIR_JSON
    )
    assert first.status_code == 200, first.text
    draft = first.json()["entry"][1]["response"]["location"].split("/_history")[0].rsplit("/", 1)[1]
    pdf = {"Accept": "application/pdf"}
    assert clinic.citizen.get(f"/Binary/{draft}", headers=pdf).status_code == 404
    final = client.post("/", json=document_bundle(clinic.national_id, "final"), headers=FHIR_JSON)
    assert final.status_code == 200, final.text
    locations = [e["response"]["location"] for e in final.json()["entry"]]
    binary_id = locations[1].split("/_history")[0].rsplit("/", 1)[1]
    read = clinic.citizen.get(f"/Binary/{binary_id}", headers=pdf)
    assert read.status_code == 200, read.text
    assert read.content == PDF
    assert read.headers["content-type"] == "application/pdf"
    other = acting_as(citizen_context(post(client, patient("040404-0404"))["id"]))
    assert other.get(f"/Binary/{binary_id}", headers=pdf).status_code == 404
    assert release_job(clean) == 1
    assert len(notices(client, clinic.patient_id)) == 1
