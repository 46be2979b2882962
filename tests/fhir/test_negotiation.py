"""Formats: FHIR JSON in and out, _format, 406 and 415; every error an OperationOutcome."""

import httpx
import pytest

from tests.factories import FHIR_JSON, patient


def test_json_content_types_accepted(client: httpx.Client) -> None:
    for content_type in (
        "application/fhir+json",
        "application/json",
        "application/fhir+json; charset=utf-8",
    ):
        response = client.post("/Patient", json=patient(), headers={"Content-Type": content_type})
        assert response.status_code == 201, content_type
        assert response.headers["content-type"] == "application/fhir+json; charset=utf-8"


def test_other_content_types_are_415(client: httpx.Client) -> None:
    response = client.post(
        "/Patient", content=b"<Patient/>", headers={"Content-Type": "application/fhir+xml"}
    )
    assert response.status_code == 415
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("accept", ["application/fhir+xml", "text/html", "application/xml"])
def test_unsupported_accept_is_406(client: httpx.Client, accept: str) -> None:
    response = client.get("/Patient", headers={"Accept": accept})
    assert response.status_code == 406
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("value", ["json", "application/fhir+json", "application/json"])
def test_format_json_accepted(client: httpx.Client, value: str) -> None:
    response = client.get("/Patient", params={"_format": value}, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.json()["resourceType"] == "Bundle"


def test_format_xml_is_406(client: httpx.Client) -> None:
    assert client.get("/Patient", params={"_format": "xml"}).status_code == 406
    assert client.get("/metadata", params={"_format": "xml"}).status_code == 406


def test_browser_accept_gets_json(client: httpx.Client) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/Patient", headers={"Accept": accept}).status_code == 200


def test_unknown_paths_and_methods_are_outcomes(client: httpx.Client) -> None:
    for response in (
        client.get("/Patient/1/_history/1/extra"),
        client.get("/Patient/1/nothing"),
        client.patch("/Patient", json=[]),
        client.post("/Patient/1", json=patient(), headers=FHIR_JSON),
    ):
        assert response.status_code in (400, 404, 405), response.text
        assert response.json()["resourceType"] == "OperationOutcome"


def test_body_over_the_limit_is_413(client: httpx.Client, backend) -> None:
    limit = backend.settings.max_body_bytes
    big = b'{"resourceType":"Patient","text":{"div":"' + b"x" * (limit + 1) + b'"}}'
    response = client.post("/Patient", content=big, headers=FHIR_JSON)
    assert response.status_code == 413
    assert response.json()["resourceType"] == "OperationOutcome"
    assert client.get("/Patient", params={"_summary": "count"}).json()["total"] == 0


def test_binary_create_and_read(client: httpx.Client) -> None:
    pdf = b"%PDF-1.4 not really a pdf"
    upload = {"Content-Type": "application/pdf"}
    refused = client.post("/Binary", content=pdf, headers=upload)
    assert refused.status_code == 422  # whose it is decides the key that seals it
    assert refused.json()["issue"][0]["expression"] == ["Binary.securityContext"]
    upload["X-Security-Context"] = "Patient/p1"
    created = client.post("/Binary", content=pdf, headers=upload)
    assert created.status_code == 201
    binary_id = created.json()["id"]
    as_fhir = client.get(f"/Binary/{binary_id}")
    assert as_fhir.json()["contentType"] == "application/pdf"
    assert as_fhir.json()["securityContext"] == {"reference": "Patient/p1"}
    native = client.get(f"/Binary/{binary_id}", headers={"Accept": "*/*"})
    assert native.content == pdf
    assert native.headers["content-type"] == "application/pdf"
    assert native.headers["content-security-policy"] == "sandbox"
    assert native.headers.get_list("cache-control") == ["no-store"]
    assert native.headers.get_list("x-content-type-options") == ["nosniff"]
    as_json = client.post(
        "/Binary",
        json={
            "resourceType": "Binary",
            "contentType": "text/plain",
            "securityContext": {"reference": "Patient/p1"},
            "data": "aGVsbG8=",
        },
        headers=FHIR_JSON,
    )
    assert as_json.status_code == 201
    assert client.get("/Binary", params={"_id": binary_id}).status_code == 405
    assert client.delete(f"/Binary/{binary_id}").status_code == 405


def test_nul_characters_are_refused(client: httpx.Client) -> None:
    body = b'{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}'
    assert client.post("/Patient", content=body, headers=FHIR_JSON).status_code == 400
    assert client.get("/Patient", params={"name": "a\x00b"}).status_code == 400
    assert client.get("/Patient/a%00b").status_code == 400
    assert client.get("/Patient", params={"_summary": "count"}).json()["total"] == 0


def test_huge_numbers_are_400(client: httpx.Client) -> None:
    response = client.get("/Slot", params={"start": "ge1e999"})
    assert response.status_code == 400
