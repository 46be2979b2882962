"""Conditional create, update and delete; conditional create unique under concurrency."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import LiveServer
from tests.factories import FHIR_JSON, observation, patient

IF_NONE_EXIST = {**FHIR_JSON, "If-None-Exist": "identifier=urn:oid:1.2.246.21|12345"}


def count(client: httpx.Client, resource_type: str = "Patient") -> int:
    return client.get(f"/{resource_type}", params={"_summary": "count"}).json()["total"]


def test_conditional_create_none_one_several(client: httpx.Client) -> None:
    first = client.post("/Patient", json=patient(), headers=IF_NONE_EXIST)
    assert first.status_code == 201
    again = client.post("/Patient", json=patient(), headers=IF_NONE_EXIST)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["meta"]["versionId"] == "1"
    client.post("/Patient", json=patient("12345"), headers=FHIR_JSON)
    several = client.post("/Patient", json=patient(), headers=IF_NONE_EXIST)
    assert several.status_code == 412
    assert several.json()["issue"][0]["code"] == "multiple-matches"
    assert count(client) == 2


def test_conditional_create_refuses_unknown_parameters(client: httpx.Client) -> None:
    response = client.post(
        "/Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": "nonsense=1"}
    )
    assert response.status_code == 400
    empty = client.post("/Patient", json=patient(), headers={**FHIR_JSON, "If-None-Exist": ""})
    assert empty.status_code in (201, 400)
    assert count(client) == (1 if empty.status_code == 201 else 0)


def test_conditional_create_after_the_match_was_deleted(client: httpx.Client) -> None:
    first = client.post("/Patient", json=patient(), headers=IF_NONE_EXIST).json()
    client.delete(f"/Patient/{first['id']}")
    second = client.post("/Patient", json=patient(), headers=IF_NONE_EXIST)
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]


def test_conditional_update(client: httpx.Client) -> None:
    query = "/Patient?identifier=urn:oid:1.2.246.21|12345"
    created = client.put(query, json=patient(), headers=FHIR_JSON)
    assert created.status_code == 201
    patient_id = created.json()["id"]
    updated = client.put(query, json={**patient(), "active": True}, headers=FHIR_JSON)
    assert updated.status_code == 200
    assert updated.json()["id"] == patient_id
    assert updated.json()["meta"]["versionId"] == "2"
    wrong_id = client.put(query, json={**patient(), "id": "other"}, headers=FHIR_JSON)
    assert wrong_id.status_code == 400
    client.post("/Patient", json=patient("12345"), headers=FHIR_JSON)
    several = client.put(query, json=patient(), headers=FHIR_JSON)
    assert several.status_code == 412
    assert client.put("/Patient", json=patient(), headers=FHIR_JSON).status_code == 405


def test_conditional_update_with_client_id(client: httpx.Client) -> None:
    query = "/Patient?identifier=urn:oid:1.2.246.21|777"
    created = client.put(query, json={**patient("777"), "id": "mrn-777"}, headers=FHIR_JSON)
    assert created.status_code == 201
    assert created.json()["id"] == "mrn-777"
    client.post("/Patient", json=patient("1"), headers=FHIR_JSON)
    taken = client.put(
        "/Patient?identifier=urn:oid:1.2.246.21|888",
        json={**patient("888"), "id": "mrn-777"},
        headers=FHIR_JSON,
    )
    assert taken.status_code == 409


def test_conditional_delete(client: httpx.Client) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    response = client.delete("/Patient", params={"identifier": "urn:oid:1.2.246.21|12345"})
    assert response.status_code == 204
    assert client.get(f"/Patient/{created['id']}").status_code == 410
    assert client.delete("/Patient", params={"identifier": "urn:x|none"}).status_code == 204
    client.post("/Patient", json=patient("1", "Same"), headers=FHIR_JSON)
    client.post("/Patient", json=patient("2", "Same"), headers=FHIR_JSON)
    assert client.delete("/Patient", params={"name": "same"}).status_code == 412
    assert count(client) == 2


def test_twenty_parallel_conditional_creates_leave_one(
    client: httpx.Client, live_server: LiveServer
) -> None:
    def attempt(_: int) -> int:
        with httpx.Client(base_url=live_server.url + "/fhir", timeout=60) as own:
            return own.post("/Patient", json=patient(), headers=IF_NONE_EXIST).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(attempt, range(20)))
    assert statuses.count(201) == 1, statuses
    assert statuses.count(200) == 19, statuses
    bundle = client.get("/Patient", params={"identifier": "urn:oid:1.2.246.21|12345"}).json()
    assert bundle["total"] == 1
    history = client.get("/Patient/_history").json()
    assert history["total"] == 1


def test_twenty_parallel_conditional_transactions_leave_one(
    client: httpx.Client, live_server: LiveServer
) -> None:
    """Every push succeeds: a transaction that loses the race is run again and finds the
    winner's Patient, so all twenty Observations point at the one Patient."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:p",
                "resource": patient(),
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": "identifier=urn:oid:1.2.246.21|12345",
                },
            },
            {
                "resource": observation("urn:uuid:p"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=live_server.url + "/fhir", timeout=60) as own:
            return own.post("/", json=bundle, headers=FHIR_JSON)

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(attempt, range(20)))
    assert [r.status_code for r in responses] == [200] * 20, [r.text[:200] for r in responses]
    patient_statuses = [r.json()["entry"][0]["response"]["status"] for r in responses]
    assert sorted(patient_statuses) == ["200 OK"] * 19 + ["201 Created"]
    assert count(client) == 1
    (only,) = client.get("/Patient").json()["entry"]
    subjects = client.get("/Observation", params={"subject": f"Patient/{only['resource']['id']}"})
    assert subjects.json()["total"] == 20
