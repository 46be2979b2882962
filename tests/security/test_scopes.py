"""Every FHIR path asks security/scopes before it acts: a caller with no grant is refused
on each of them with 403, sees nothing, and writes nothing."""

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from fastapi import Request

from medsvc.app import create_app
from medsvc.security import scopes
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
    family_ask = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "phone", "valueString": "13800138000"},
            {"name": "relationship", "valueString": "CHILD"},
        ],
    }
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
        ("GET", f"{url}/$waiting-results", {}),
        ("GET", f"{url}/$proxy-activity", {}),
        ("POST", "/Patient/$proxy-invite", {"json": family_ask, "headers": FHIR_JSON}),
        ("POST", "/Patient/$proxy-accept", {"json": family_ask, "headers": FHIR_JSON}),
        ("POST", "/Patient/$proxy-child", {"json": family_ask, "headers": FHIR_JSON}),
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


@pytest.mark.parametrize(
    ("text", "context", "resource_type", "permissions", "query"),
    [
        ("patient/Appointment.cruds", "patient", "Appointment", "cruds", ()),
        ("user/Slot.rs", "user", "Slot", "rs", ()),
        ("system/DiagnosticReport.c", "system", "DiagnosticReport", "c", ()),
        ("patient/*.read", "patient", "*", "rs", ()),
        ("user/*.write", "user", "*", "cud", ()),
        ("system/Patient.*", "system", "Patient", "cruds", ()),
        (
            "patient/Observation.rs?category=laboratory",
            "patient",
            "Observation",
            "rs",
            (("category", "laboratory"),),
        ),
    ],
)
def test_smart_scopes_parse(
    text: str, context: str, resource_type: str, permissions: str, query: tuple
) -> None:
    parsed = scopes.parse_resource_scope(text)
    assert (parsed.context, parsed.resource_type, parsed.permissions, parsed.query) == (
        context,
        resource_type,
        permissions,
        query,
    )


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.sr",  # letters out of order
        "patient/Observation.rr",
        "patient/Observation.x",
        "patient/Observation.",
        "doctor/Observation.rs",
        "patient/observation.rs",
        "patient/Observation.read?category=x",  # v1 takes no query
        "patient/Observation.rs?category",
        "Observation.rs",
    ],
)
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(scopes.InvalidScope):
        scopes.parse_resource_scope(text)


def test_narrow_keeps_only_what_is_allowed() -> None:
    allowed = "system/Patient.rs system/Observation.cruds openid"
    requested = "system/Patient.cruds system/Observation.rs system/Slot.rs patient/*.rs openid"
    granted = scopes.narrow(requested, allowed, ("system",))
    assert granted == ["system/Patient.rs", "system/Observation.rs", "openid"]
    assert scopes.narrow("system/*.rs", "system/Patient.rs", ("system",)) == ["system/Patient.rs"]
    assert scopes.narrow("system/*.cruds", "system/Patient.rs system/Slot.c", ("system",)) == [
        "system/Patient.rs",
        "system/Slot.c",
    ]
    assert scopes.narrow("system/*.rs", "system/Slot.c", ("system",)) == []
    assert scopes.narrow("system/Patient.rs", "system/*.cruds", ("system",)) == [
        "system/Patient.rs"
    ]
    with pytest.raises(scopes.InvalidScope):
        scopes.narrow("system/Patient.zz", allowed, ("system",))


def test_a_scope_is_wholly_within_when_nothing_it_asks_is_cut_off() -> None:
    held = "openid patient/Patient.rs patient/Observation.rs"
    assert scopes.wholly_within("patient/*.rs", held, ("patient",))
    assert scopes.wholly_within("patient/Observation.rs", held, ("patient",))
    assert scopes.wholly_within("openid", held, ("patient",))
    assert not scopes.wholly_within("patient/*.cruds", held, ("patient",))
    assert not scopes.wholly_within("patient/Slot.rs", held, ("patient",))
    assert not scopes.wholly_within("fhirUser", held, ("patient",))


def test_granular_scope_is_granted_only_within_its_query() -> None:
    allowed = "patient/Observation.rs?category=laboratory"
    assert scopes.narrow("patient/Observation.rs", allowed, ("patient",)) == []
    assert scopes.narrow("patient/Observation.rs?category=laboratory", allowed, ("patient",)) == [
        "patient/Observation.rs?category=laboratory"
    ]


READ_ONLY = AuthContext(subject="reader", is_platform=True, scopes=frozenset({"system/Patient.rs"}))


async def read_only(_request: Request) -> AuthContext:
    return READ_ONLY


def test_platform_callers_are_held_to_their_scopes(clean: Backend, stored: dict) -> None:
    port = free_port()
    app = create_app(make_settings(clean.url, port), clean.database)
    app.dependency_overrides[auth_context] = read_only
    with (
        LiveServer(app, port) as server,
        httpx.Client(base_url=server.url + "/fhir", timeout=30) as http,
    ):
        assert http.get(f"/Patient/{stored['id']}").json() == stored
        assert http.get("/Patient", params={"_summary": "count"}).json()["total"] == 1
        assert http.post("/Patient", json=patient("2"), headers=FHIR_JSON).status_code == 403
        assert http.delete(f"/Patient/{stored['id']}").status_code == 403
        assert http.get("/Observation").status_code == 403
    assert READ_ONLY.grants == (scopes.parse_resource_scope("system/Patient.rs"),)
