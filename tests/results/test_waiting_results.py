"""Patient/[id]/$waiting-results: the patient learns how many of their results wait for a
clinician's review or a set time, without seeing them; withheld ones are not counted; only
the patient (or the platform) asks."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from medsvc import clock
from medsvc.security.context import platform_context
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient
from tests.fhir.test_search import post
from tests.results.test_release import Clinic, Opener, release_job
from tests.scheduling.clinic import citizen_context

REVIEW = "http://terminology.hl7.org/CodeSystem/v2-0074|LAB=review"


def waiting(http: httpx.Client, patient_id: str) -> dict[str, Any]:
    response = http.get(f"/Patient/{patient_id}/$waiting-results")
    assert response.status_code == 200, response.text
    return {
        p["name"]: next(v for k, v in p.items() if k.startswith("value"))
        for p in response.json()["parameter"]
    }


def test_results_waiting_for_review_are_counted_not_shown(
    client: httpx.Client, acting_as: Opener
) -> None:
    clinic = Clinic(client, acting_as)
    lab = acting_as(platform_context("lab"), release_rules=REVIEW)
    assert waiting(clinic.citizen, clinic.patient_id) == {"awaitingReview": 0, "scheduled": 0}
    first = clinic.push("R-1", client=lab)
    clinic.push("R-2", client=lab)
    answer = clinic.citizen.get(f"/Patient/{clinic.patient_id}/$waiting-results")
    assert answer.json()["resourceType"] == "Parameters"
    assert waiting(clinic.citizen, clinic.patient_id) == {"awaitingReview": 2, "scheduled": 0}
    assert first["DiagnosticReport"] not in answer.text  # counted, never named
    released = clinic.doctor.post(
        f"/DiagnosticReport/{first['DiagnosticReport']}/$release",
        json={"resourceType": "Parameters"},
        headers=FHIR_JSON,
    )
    assert released.status_code == 200
    assert waiting(clinic.citizen, clinic.patient_id)["awaitingReview"] == 1


def test_a_delayed_result_is_counted_with_its_release_time(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    clock.set_source(lambda: start)
    clinic = Clinic(client, acting_as)
    lab = acting_as(platform_context("lab"), release_rules="LAB=72h")
    clinic.push("R-7", client=lab)
    assert waiting(clinic.citizen, clinic.patient_id) == {
        "awaitingReview": 0,
        "scheduled": 1,
        "nextRelease": "2026-12-04T08:00:00.000Z",
    }
    clock.set_source(lambda: start + timedelta(hours=72))
    assert release_job(clean, start + timedelta(hours=72)) == 1
    assert waiting(clinic.citizen, clinic.patient_id) == {"awaitingReview": 0, "scheduled": 0}


def test_a_withheld_result_is_not_counted(client: httpx.Client, acting_as: Opener) -> None:
    clinic = Clinic(client, acting_as)
    lab = acting_as(platform_context("lab"), release_rules=REVIEW)
    ids = clinic.push("R-3", client=lab)
    held = clinic.doctor.post(
        f"/DiagnosticReport/{ids['DiagnosticReport']}/$withhold",
        json={
            "resourceType": "Parameters",
            "parameter": [{"name": "reason", "valueString": "call"}],
        },
        headers=FHIR_JSON,
    )
    assert held.status_code == 200, held.text
    assert waiting(clinic.citizen, clinic.patient_id)["awaitingReview"] == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_only_the_patient_asks_and_only_by_reading(
    client: httpx.Client, acting_as: Opener, method: str
) -> None:
    clinic = Clinic(client, acting_as)
    other = acting_as(citizen_context(post(client, patient("020202-0202"))["id"]))
    assert other.get(f"/Patient/{clinic.patient_id}/$waiting-results").status_code in (403, 404)
    assert clinic.doctor.get(f"/Patient/{clinic.patient_id}/$waiting-results").status_code == 403
    wrong = clinic.citizen.request(
        method,
        f"/Patient/{clinic.patient_id}/$waiting-results",
        json={"resourceType": "Parameters"},
    )
    expected = 200 if method == "POST" else 405
    assert wrong.status_code == expected
    assert client.get("/Patient/nope/$waiting-results").status_code == 404
