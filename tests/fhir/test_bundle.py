"""Transaction (all or nothing, processing order, reference rewriting) and batch Bundles."""

import httpx

from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, patient, practitioner


def transaction(*entries: dict, kind: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def post_entry(resource: dict, full_url: str | None = None, **request: str) -> dict:
    entry: dict = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"], **request},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def count(client: httpx.Client, resource_type: str) -> int:
    return client.get(f"/{resource_type}", params={"_summary": "count"}).json()["total"]


def test_transaction_resolves_urn_uuid_references(client: httpx.Client, base_url: str) -> None:
    bundle = transaction(
        post_entry(observation("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"), "urn:uuid:obs-1"),
        post_entry(patient(), "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"),
    )
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "201 Created"]
    patient_location = result["entry"][1]["response"]["location"]
    assert patient_location.startswith(f"{base_url}/Patient/")
    patient_id = patient_location.split("/")[-3]
    obs_id = result["entry"][0]["response"]["location"].split("/")[-3]
    stored = client.get(f"/Observation/{obs_id}").json()
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"
    assert result["entry"][0]["response"]["etag"] == 'W/"1"'


def test_transaction_rolls_back_on_a_failing_entry(client: httpx.Client) -> None:
    bundle = transaction(
        post_entry(patient("1")),
        post_entry(practitioner()),
        post_entry(
            {"resourceType": "Observation", "status": "not-a-status", "code": {"text": "x"}}
        ),
    )
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[2].resource.status"]
    assert count(client, "Patient") == 0
    assert count(client, "Practitioner") == 0


def test_transaction_processing_order(client: httpx.Client) -> None:
    existing = client.post("/Patient", json=patient("9"), headers=FHIR_JSON).json()
    bundle = transaction(
        {"request": {"method": "GET", "url": "Patient?identifier=urn:oid:1.2.246.21|9"}},
        {
            "resource": {**existing, "active": True},
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}"},
        },
        {"request": {"method": "DELETE", "url": f"Patient/{existing['id']}"}},
    )
    result = client.post("/", json=bundle, headers=FHIR_JSON).json()
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["200 OK", "201 Created", "204 No Content"]
    searched = result["entry"][0]["resource"]
    assert searched["total"] == 1
    assert searched["entry"][0]["resource"]["meta"]["versionId"] == "3"


def test_conditional_reference_and_if_none_exist(client: httpx.Client) -> None:
    existing = client.post("/Patient", json=patient("555"), headers=FHIR_JSON).json()
    bundle = transaction(
        post_entry(patient("555"), "urn:uuid:p", ifNoneExist="identifier=urn:oid:1.2.246.21|555"),
        post_entry(observation("Patient?identifier=urn:oid:1.2.246.21|555")),
        post_entry(observation("urn:uuid:p")),
    )
    result = client.post("/", json=bundle, headers=FHIR_JSON).json()
    assert [e["response"]["status"] for e in result["entry"]] == [
        "200 OK",
        "201 Created",
        "201 Created",
    ]
    subjects = {
        o["resource"]["subject"]["reference"] for o in client.get("/Observation").json()["entry"]
    }
    assert subjects == {f"Patient/{existing['id']}"}
    assert count(client, "Patient") == 1


def test_conditional_reference_with_no_or_several_matches_fails(client: httpx.Client) -> None:
    none = transaction(
        post_entry(practitioner()), post_entry(observation("Patient?identifier=urn:x|nobody"))
    )
    assert client.post("/", json=none, headers=FHIR_JSON).status_code == 404
    client.post("/Patient", json=patient("1", "Twin"), headers=FHIR_JSON)
    client.post("/Patient", json=patient("2", "Twin"), headers=FHIR_JSON)
    several = transaction(post_entry(practitioner()), post_entry(observation("Patient?name=twin")))
    assert client.post("/", json=several, headers=FHIR_JSON).status_code == 412
    assert count(client, "Practitioner") == 0


def test_transaction_if_match(client: httpx.Client) -> None:
    existing = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    stale = transaction(
        post_entry(practitioner()),
        {
            "resource": {**existing, "active": False},
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}", "ifMatch": 'W/"5"'},
        },
    )
    assert client.post("/", json=stale, headers=FHIR_JSON).status_code == 412
    assert count(client, "Practitioner") == 0


def test_transaction_prefer_representation(client: httpx.Client) -> None:
    bundle = transaction(post_entry(patient()))
    minimal = client.post("/", json=bundle, headers=FHIR_JSON).json()
    assert "resource" not in minimal["entry"][0]
    full = client.post("/", json=bundle, headers={**FHIR_JSON, "Prefer": "return=representation"})
    assert full.json()["entry"][0]["resource"]["resourceType"] == "Patient"


def test_batch_entries_are_independent(client: httpx.Client) -> None:
    bundle = transaction(
        post_entry(patient("1")),
        post_entry({"resourceType": "Patient", "gender": "robot"}),
        {"request": {"method": "GET", "url": "Patient/unknown"}},
        post_entry(practitioner()),
        kind="batch",
    )
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created", "422 Unprocessable Entity", "404 Not Found", "201 Created"]
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert count(client, "Patient") == 1
    assert count(client, "Practitioner") == 1


def test_bad_bundles_are_400(client: httpx.Client) -> None:
    cases = [
        {"resourceType": "Patient"},
        {"resourceType": "Bundle", "type": "collection"},
        transaction({"resource": patient()}),
        transaction({"request": {"method": "POST", "url": "Patient"}}),
        transaction(post_entry(patient(), "urn:uuid:a"), post_entry(patient(), "urn:uuid:a")),
        {"resourceType": "Bundle", "type": "transaction", "entry": {"not": "a list"}},
    ]
    for body in cases:
        response = client.post("/", json=body, headers=FHIR_JSON)
        assert response.status_code == 400, (body, response.text)
    assert client.post("/", content=b"[1,2", headers=FHIR_JSON).status_code == 400
    assert count(client, "Patient") == 0


def test_conditional_update_entries_resolve_their_references(client: httpx.Client) -> None:
    lab_id = "urn:lab|obs-1"
    bundle = transaction(
        {
            "fullUrl": "urn:uuid:obs",
            "resource": observation("Patient/p1"),
            "request": {"method": "PUT", "url": f"Observation?identifier={lab_id}"},
        },
        post_entry(
            {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"text": "panel"},
                "subject": {"reference": "Patient/p1"},
                "result": [{"reference": "urn:uuid:obs"}],
                **REPORT_ESSENTIALS,
            }
        ),
    )
    bundle["entry"][0]["resource"]["identifier"] = [{"system": "urn:lab", "value": "obs-1"}]
    first = client.post("/", json=bundle, headers=FHIR_JSON)
    assert first.status_code == 200, first.text
    again = client.post("/", json=bundle, headers=FHIR_JSON).json()
    assert again["entry"][0]["response"]["status"] == "200 OK"
    observations = client.get("/Observation").json()
    assert observations["total"] == 1
    obs_id = observations["entry"][0]["resource"]["id"]
    reports = client.get("/DiagnosticReport").json()["entry"]
    assert {r["resource"]["result"][0]["reference"] for r in reports} == {f"Observation/{obs_id}"}


def test_patch_entry_carries_json_patch_as_binary(client: httpx.Client) -> None:
    import base64
    import json

    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    ops = [{"op": "add", "path": "/active", "value": True}]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(json.dumps(ops).encode()).decode(),
    }
    bundle = transaction(
        {"resource": binary, "request": {"method": "PATCH", "url": f"Patient/{created['id']}"}}
    )
    result = client.post("/", json=bundle, headers=FHIR_JSON)
    assert result.status_code == 200, result.text
    assert client.get(f"/Patient/{created['id']}").json()["active"] is True
    wrong = transaction(
        {"resource": patient(), "request": {"method": "PATCH", "url": f"Patient/{created['id']}"}}
    )
    response = client.post("/", json=wrong, headers=FHIR_JSON)
    assert response.status_code == 400
    assert response.json()["issue"][0]["diagnostics"].startswith("Bundle.entry[0]")


def test_urn_uuid_rewritten_in_narrative_and_uri_values(client: httpx.Client) -> None:
    full_url = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": full_url},
        **REPORT_ESSENTIALS,
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><a href="{full_url}">'
            "patient</a></div>",
        },
    }
    result = client.post(
        "/",
        json=transaction(post_entry(patient(), full_url), post_entry(report)),
        headers=FHIR_JSON,
    ).json()
    patient_ref = "/".join(result["entry"][0]["response"]["location"].split("/")[-4:-2])
    report_id = result["entry"][1]["response"]["location"].split("/")[-3]
    stored = client.get(f"/DiagnosticReport/{report_id}").json()
    assert stored["subject"]["reference"] == patient_ref
    assert f'href="{patient_ref}"' in stored["text"]["div"]


def test_searches_in_a_transaction_see_the_resources_it_created(client: httpx.Client) -> None:
    subject = "urn:uuid:0b6bd2a8-0f5a-4a4b-9d8e-5d1f6f0e7a11"
    bundle = transaction(
        {
            "request": {
                "method": "GET",
                "url": "Observation?subject.identifier=urn:oid:1.2.246.21|7",
            }
        },
        post_entry(patient("7"), subject),
        *(post_entry(observation(subject, value=v)) for v in (1.0, 3.0, 4.0)),
        {"request": {"method": "GET", "url": "Patient?identifier=urn:oid:1.2.246.21|7"}},
    )
    result = client.post("/", json=bundle, headers=FHIR_JSON).json()
    observations, patients = result["entry"][0]["resource"], result["entry"][-1]["resource"]
    assert observations["total"] == 3
    assert patients["total"] == 1
    found = client.get("/Observation", params={"patient.identifier": "urn:oid:1.2.246.21|7"})
    assert found.json()["total"] == 3


def test_a_failed_transaction_leaves_nothing_to_find(client: httpx.Client) -> None:
    bundle = transaction(
        *(post_entry(patient(f"{n}", family="Rollback")) for n in range(5)),
        post_entry({"resourceType": "Patient", "gender": "robot"}),
    )
    assert client.post("/", json=bundle, headers=FHIR_JSON).status_code == 422
    assert client.get("/Patient", params={"family": "Rollback"}).json()["total"] == 0
    assert (
        client.get("/Patient", params={"identifier": "urn:oid:1.2.246.21|3"}).json()["total"] == 0
    )


def test_history_in_a_transaction_sees_the_versions_it_wrote(client: httpx.Client) -> None:
    bundle = transaction(
        {"request": {"method": "GET", "url": "Patient/tx-history/_history/1"}},
        {"request": {"method": "GET", "url": "Patient/tx-history/_history"}},
        {
            "resource": {**patient("8"), "id": "tx-history"},
            "request": {"method": "PUT", "url": "Patient/tx-history"},
        },
    )
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    version, history, put = response.json()["entry"]
    assert put["response"]["status"] == "201 Created"
    assert version["response"]["status"] == "200 OK"
    assert version["resource"]["meta"]["versionId"] == "1"
    assert history["resource"]["total"] == 1
