"""A lab's push as hospitals send it: one transaction Bundle with the patient found by their
national id, a DiagnosticReport and its Observations written by conditional update on the
lab's identifiers. Sent again it changes nothing; ten identical pushes at once leave one of
each resource, on both databases."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, patient
from tests.fhir.test_search import post
from tests.scheduling.clinic import hospital_context

NATIONAL_ID = "urn:oid:1.2.246.21"
LAB = "urn:lab:city-central"
TESTS = ("2160-0", "718-7", "2345-7")


def push(national_id: str, report_id: str) -> dict[str, Any]:
    subject = f"Patient?identifier={NATIONAL_ID}|{national_id}"
    entries = []
    for code in TESTS:
        result = observation(subject, code=code)
        result["identifier"] = [{"system": LAB, "value": f"{report_id}-{code}"}]
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{code.replace('-', '').zfill(12)}",
                "resource": result,
                "request": {
                    "method": "PUT",
                    "url": f"Observation?identifier={LAB}|{report_id}-{code}",
                },
            }
        )
    report = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": LAB, "value": report_id}],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": {"reference": subject},
        "result": [{"reference": e["fullUrl"]} for e in entries],
        **REPORT_ESSENTIALS,
    }
    entries.append(
        {
            "resource": report,
            "request": {"method": "PUT", "url": f"DiagnosticReport?identifier={LAB}|{report_id}"},
        }
    )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def stored(client: httpx.Client, resource_type: str) -> list[dict[str, Any]]:
    bundle = client.get(f"/{resource_type}", params={"_count": "100"}).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def test_the_same_push_again_changes_nothing(client: httpx.Client) -> None:
    post(client, patient("010190-123A"))
    first = client.post("/", json=push("010190-123A", "R-1"), headers=FHIR_JSON)
    assert first.status_code == 200, first.text
    again = client.post("/", json=push("010190-123A", "R-1"), headers=FHIR_JSON)
    assert again.status_code == 200, again.text
    assert [e["response"]["status"] for e in again.json()["entry"]] == ["200 OK"] * 4
    results = stored(client, "Observation") + stored(client, "DiagnosticReport")
    assert len(results) == 4
    assert {r["meta"]["versionId"] for r in results} == {"1"}


def test_ten_identical_pushes_at_once_leave_one_of_each(client: httpx.Client) -> None:
    person = post(client, patient("020280-456B"))
    bundle = push("020280-456B", "R-2")

    def send(_: int) -> int:
        response = client.post("/", json=bundle, headers=FHIR_JSON, timeout=60)
        return response.status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(send, range(10)))
    assert statuses == [200] * 10
    observations, reports = stored(client, "Observation"), stored(client, "DiagnosticReport")
    assert sorted(o["identifier"][0]["value"] for o in observations) == sorted(
        f"R-2-{code}" for code in TESTS
    )
    assert len(reports) == 1
    assert {r["subject"]["reference"] for r in observations + reports} == {
        f"Patient/{person['id']}"
    }
    assert {r["meta"]["versionId"] for r in observations + reports} == {"1"}
    result_refs = {ref["reference"] for ref in reports[0]["result"]}
    assert result_refs == {f"Observation/{o['id']}" for o in observations}


def test_a_hospital_system_pushes_and_pushes_again(
    client: httpx.Client, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    """A hospital's system (not the platform) finds the patient by national id and writes by
    conditional update: the ids the transaction gives are its own, not the client's."""
    post(client, patient("030370-789C"))
    organization = post(client, {"resourceType": "Organization", "name": "City Lab"})["id"]
    hospital = acting_as(hospital_context(organization))
    for _ in range(2):
        response = hospital.post("/", json=push("030370-789C", "R-3"), headers=FHIR_JSON)
        assert response.status_code == 200, response.text
    results = stored(client, "Observation") + stored(client, "DiagnosticReport")
    assert len(results) == 4
    assert {r["meta"]["versionId"] for r in results} == {"1"}


def with_order_and_specimen(national_id: str, report_id: str) -> dict[str, Any]:
    """The push with the order it answers and the specimen it was made on, each written by
    conditional update on the lab's identifier."""
    bundle = push(national_id, report_id)
    subject = {"reference": f"Patient?identifier={NATIONAL_ID}|{national_id}"}
    order = {
        "resourceType": "ServiceRequest",
        "identifier": [{"system": LAB, "value": f"{report_id}-order"}],
        "status": "completed",
        "intent": "order",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": subject,
    }
    specimen = {
        "resourceType": "Specimen",
        "identifier": [{"system": LAB, "value": f"{report_id}-specimen"}],
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0487", "code": "SER"}]
        },
        "subject": subject,
    }
    extra = [("urn:uuid:order", order), ("urn:uuid:specimen", specimen)]
    for url, resource in extra:
        kind, value = resource["resourceType"], resource["identifier"][0]["value"]
        bundle["entry"].insert(
            0,
            {
                "fullUrl": url,
                "resource": resource,
                "request": {"method": "PUT", "url": f"{kind}?identifier={LAB}|{value}"},
            },
        )
    report = bundle["entry"][-1]["resource"]
    report["basedOn"] = [{"reference": "urn:uuid:order"}]
    report["specimen"] = [{"reference": "urn:uuid:specimen"}]
    return bundle


def test_a_push_with_its_order_and_specimen_is_idempotent_and_linked(client: httpx.Client) -> None:
    person = post(client, patient("040440-321D"))
    for _ in range(2):
        response = client.post(
            "/", json=with_order_and_specimen("040440-321D", "R-4"), headers=FHIR_JSON
        )
        assert response.status_code == 200, response.text
    orders, specimens = stored(client, "ServiceRequest"), stored(client, "Specimen")
    assert len(orders) == len(specimens) == 1
    (report,) = stored(client, "DiagnosticReport")
    assert report["basedOn"] == [{"reference": f"ServiceRequest/{orders[0]['id']}"}]
    assert report["specimen"] == [{"reference": f"Specimen/{specimens[0]['id']}"}]
    assert {r["subject"]["reference"] for r in orders + specimens} == {f"Patient/{person['id']}"}
    found = client.get("/DiagnosticReport", params={"specimen": f"Specimen/{specimens[0]['id']}"})
    assert found.json()["total"] == 1
