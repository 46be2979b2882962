"""Every write is validated: 400 for structure, 422 for profile rules, nothing stored after."""

import httpx
import pytest

from tests.factories import FHIR_JSON, patient


def count(client: httpx.Client, resource_type: str) -> int:
    return client.get(f"/{resource_type}", params={"_summary": "count"}).json()["total"]


@pytest.mark.parametrize(
    ("body", "status", "code", "expression"),
    [
        ({"resourceType": "Patient", "foo": 1}, 400, "structure", "Patient.foo"),
        (
            {"resourceType": "Patient", "birthDate": "yesterday"},
            400,
            "structure",
            "Patient.birthDate",
        ),
        ({"resourceType": "Patient", "name": "Aino"}, 400, "structure", "Patient.name"),
        (
            {"resourceType": "Observation", "status": "final", "code": {"coding": None}},
            400,
            "structure",
            "Observation.code.coding",
        ),
        # A primitive's extension is an object; the models would parse a string as JSON text.
        (
            {"resourceType": "Patient", "_birthDate": "1e999"},
            400,
            "structure",
            "Patient._birthDate",
        ),
        (
            {"resourceType": "Patient", "_active": '{"extension": []}'},
            400,
            "structure",
            "Patient._active",
        ),
        (
            {"resourceType": "Patient", "name": [{"given": ["A"], "_given": ["1e5"]}]},
            400,
            "structure",
            "Patient.name[0]._given",
        ),
        ({"resourceType": "Patient", "gender": "robot"}, 422, "code-invalid", "Patient.gender"),
        (
            {
                "resourceType": "Slot",
                "schedule": {"reference": "Schedule/1"},
                "status": "free",
                "start": "2030-01-01T10:00:00Z",
            },
            422,
            "required",
            "Slot.end",
        ),
        (
            {
                "resourceType": "Appointment",
                "status": "booked",
                "start": "2030-01-01T10:00:00Z",
                "participant": [{"status": "accepted", "actor": {"reference": "Patient/1"}}],
            },
            422,
            "invariant",
            "Appointment",
        ),
        (
            {
                "resourceType": "Appointment",
                "status": "booked",
                "participant": [{"status": "accepted", "actor": {"reference": "Patient/1"}}],
            },
            422,
            "invariant",
            "Appointment",
        ),
        (
            {
                "resourceType": "Appointment",
                "status": "proposed",
                "participant": [{"status": "accepted"}],
            },
            422,
            "invariant",
            "Appointment.participant[0]",
        ),
        (
            {
                "resourceType": "Appointment",
                "status": "proposed",
                "participant": [{"status": "maybe", "actor": {"reference": "Patient/1"}}],
            },
            422,
            "code-invalid",
            "Appointment.participant[0].status",
        ),
        (
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "x"},
                "valueString": "a",
                "dataAbsentReason": {"text": "b"},
            },
            422,
            "invariant",
            "Observation",
        ),
    ],
)
def test_invalid_resources_are_refused(
    client: httpx.Client, body: dict, status: int, code: str, expression: str
) -> None:
    response = client.post(f"/{body['resourceType']}", json=body, headers=FHIR_JSON)
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(
        i["code"] == code and expression in i.get("expression", []) for i in outcome["issue"]
    ), outcome
    assert count(client, body["resourceType"]) == 0


def test_valid_appointment_is_accepted(client: httpx.Client) -> None:
    body = {
        "resourceType": "Appointment",
        "status": "proposed",
        "participant": [{"status": "needs-action", "actor": {"reference": "Patient/1"}}],
    }
    assert client.post("/Appointment", json=body, headers=FHIR_JSON).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'"text"',
        b'{"resourceType": 5}',
        b"{}",
        b'{"gender": "male"}',
        b'{"resourceType":"Patient","birthDate":NaN}',
    ],
)
def test_malformed_bodies_are_400(client: httpx.Client, body: bytes) -> None:
    response = client.post("/Patient", content=body, headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_wrong_resource_type_is_400(client: httpx.Client) -> None:
    response = client.post("/Patient", json={"resourceType": "Practitioner"}, headers=FHIR_JSON)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["resourceType"]


def test_failed_update_changes_nothing(client: httpx.Client) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    url = f"/Patient/{created['id']}"
    response = client.put(url, json={**created, "gender": "robot"}, headers=FHIR_JSON)
    assert response.status_code == 422
    assert client.get(url).json() == created
    assert client.get(f"{url}/_history").json()["total"] == 1


def test_validate_operation(client: httpx.Client) -> None:
    good = client.post("/Patient/$validate", json=patient(), headers=FHIR_JSON)
    assert good.status_code == 200
    assert good.json()["issue"][0]["severity"] == "information"
    bad = client.post(
        "/Patient/$validate", json={"resourceType": "Patient", "gender": "robot"}, headers=FHIR_JSON
    )
    assert bad.status_code == 200
    assert bad.json()["issue"][0]["code"] == "code-invalid"
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": {"resourceType": "Patient", "foo": 1}},
            {"name": "mode", "valueCode": "create"},
        ],
    }
    structural = client.post("/Patient/$validate", json=wrapped, headers=FHIR_JSON).json()
    assert structural["issue"][0]["code"] == "structure"
    assert count(client, "Patient") == 0


def test_validate_instance(client: httpx.Client) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    stored = client.post(f"/Patient/{created['id']}/$validate", headers=FHIR_JSON)
    assert stored.json()["issue"][0]["severity"] == "information"
    other_id = client.post(
        f"/Patient/{created['id']}/$validate",
        params={"mode": "update"},
        json={**created, "id": "x"},
        headers=FHIR_JSON,
    ).json()
    assert other_id["issue"][0]["expression"] == ["id"]
    deletable = client.post(
        "/Patient/nobody/$validate", params={"mode": "delete"}, headers=FHIR_JSON
    ).json()
    assert deletable["issue"][0]["code"] == "not-found"
    assert (
        client.post(
            "/Patient/$validate", params={"mode": "x"}, json=patient(), headers=FHIR_JSON
        ).status_code
        == 400
    )
    assert client.post("/Patient/$nothing", json=patient(), headers=FHIR_JSON).status_code == 404
