"""Every FHIR path asks security/scopes before it acts: a caller with no grant is refused
on each of them with 403, sees nothing, and writes nothing."""

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Request

from medsvc.app import create_app
from medsvc.security.context import AuthContext, auth_context
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.factories import FHIR_JSON, patient

NO_GRANT = AuthContext(subject="app-without-scopes", client_id="app")


async def no_grant(_request: Request) -> AuthContext:
    return NO_GRANT


@pytest.fixture
def stored(client: httpx.Client) -> dict:
    response = client.post("/Patient", json=patient(), headers=FHIR_JSON)
    assert response.status_code == 201
    return response.json()


@pytest.fixture
def refused(clean: Backend) -> Iterator[httpx.Client]:
    port = free_port()
    settings = make_settings(clean.url, port)
    app = create_app(settings, clean.database)
    app.dependency_overrides[auth_context] = no_grant
    with (
        LiveServer(app, port) as server,
        httpx.Client(base_url=server.url + "/fhir", timeout=30) as http,
    ):
        yield http


def requests(patient_id: str) -> list[tuple[str, str, dict]]:
    url = f"/Patient/{patient_id}"
    patch = {
        "content": json.dumps([{"op": "add", "path": "/active", "value": True}]),
        "headers": {"Content-Type": "application/json-patch+json"},
    }
    body = {"json": {**patient(), "id": patient_id}, "headers": FHIR_JSON}
    return [
        ("GET", url, {}),
        ("GET", f"{url}/_history/1", {}),
        ("GET", f"{url}/_history", {}),
        ("GET", "/Patient/_history", {}),
        ("GET", "/Patient?name=virtanen", {}),
        ("POST", "/Patient/_search", {"data": {"name": "virtanen"}}),
        ("POST", "/Patient", {"json": patient("2"), "headers": FHIR_JSON}),
        (
            "POST",
            "/Patient",
            {
                "json": patient("2"),
                "headers": {**FHIR_JSON, "If-None-Exist": "identifier=urn:oid:1.2.246.21|2"},
            },
        ),
        ("PUT", url, body),
        ("PUT", "/Patient/new-id", {"json": {**patient(), "id": "new-id"}, "headers": FHIR_JSON}),
        ("PUT", "/Patient?identifier=urn:oid:1.2.246.21|12345", body),
        ("PATCH", url, patch),
        ("DELETE", url, {}),
        ("DELETE", "/Patient?identifier=urn:oid:1.2.246.21|12345", {}),
        ("POST", "/Patient/$validate", {"json": patient(), "headers": FHIR_JSON}),
        ("POST", f"{url}/$validate", {"headers": FHIR_JSON}),
    ]


def test_every_interaction_is_refused(
    refused: httpx.Client, client: httpx.Client, stored: dict
) -> None:
    for method, url, options in requests(stored["id"]):
        response = refused.request(method, url, **options)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["issue"][0]["code"] == "forbidden"
    assert client.get(f"/Patient/{stored['id']}").json() == stored
    assert client.get("/Patient", params={"_summary": "count"}).json()["total"] == 1
    assert client.get("/Patient/_history").json()["total"] == 1


def transaction(*entries: dict, kind: str = "transaction") -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def test_transaction_entries_are_refused(
    refused: httpx.Client, client: httpx.Client, stored: dict
) -> None:
    patch = base64.b64encode(b'[{"op": "add", "path": "/active", "value": true}]').decode()
    bundles = [
        transaction({"request": {"method": "GET", "url": f"Patient/{stored['id']}"}}),
        transaction({"resource": patient("3"), "request": {"method": "POST", "url": "Patient"}}),
        transaction(
            {
                "resource": patient("3"),
                "request": {
                    "method": "POST",
                    "url": "Patient",
                    "ifNoneExist": "identifier=urn:x|3",
                },
            }
        ),
        transaction(
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "x"},
                    "subject": {"reference": "Patient?identifier=urn:x|1"},
                },
                "request": {"method": "POST", "url": "Observation"},
            }
        ),
        transaction(
            {
                "resource": patient("3"),
                "request": {"method": "PUT", "url": "Patient?identifier=urn:oid:1.2.246.21|12345"},
            }
        ),
        transaction(
            {
                "resource": {
                    "resourceType": "Binary",
                    "contentType": "application/json-patch+json",
                    "data": patch,
                },
                "request": {"method": "PATCH", "url": f"Patient/{stored['id']}"},
            }
        ),
        transaction({"request": {"method": "DELETE", "url": f"Patient/{stored['id']}"}}),
    ]
    for bundle in bundles:
        response = refused.post("/", json=bundle, headers=FHIR_JSON)
        assert response.status_code == 403, (bundle, response.text)
    batch = refused.post(
        "/", json=transaction(*[b["entry"][0] for b in bundles], kind="batch"), headers=FHIR_JSON
    ).json()
    assert {e["response"]["status"] for e in batch["entry"]} == {"403 Forbidden"}
    assert client.get(f"/Patient/{stored['id']}").json() == stored
    assert client.get("/Patient/_history").json()["total"] == 1
    assert client.get("/Observation", params={"_summary": "count"}).json()["total"] == 0
