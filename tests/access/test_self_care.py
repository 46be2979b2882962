"""No practitioner books themselves into a patient's care: an appointment that gives care is
the patient's or the hospital's to book, so a doctor who sees a patient for a while (an
appointment, break-glass) cannot make that last by writing appointments of their own."""

import httpx
import pytest

from tests.access.conftest import Caller, Record, appointment, as_practitioner, post, reaches
from tests.factories import FHIR_JSON

FAR = "2099-01-07T08:00:00Z"


@pytest.fixture
def in_care(client: httpx.Client, record: Record) -> str:
    """The id of the booked appointment, made by the platform, that gives the doctor care."""
    return str(post(client, appointment(record, "booked"))["id"])


def refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "forbidden"
    assert "booked by the patient or the hospital's system" in issue["diagnostics"]


@pytest.mark.parametrize("status", ["booked", "arrived", "checked-in", "fulfilled"])
def test_a_doctor_does_not_book_themselves_into_care(
    client: httpx.Client, record: Record, token_for: Caller, in_care: str, status: str
) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    total = client.get("/Appointment", params={"_summary": "count"}).json()["total"]
    refused(doctor.post("/Appointment", json=appointment(record, status, FAR), headers=FHIR_JSON))
    entry = {
        "resource": appointment(record, status, FAR),
        "request": {"method": "POST", "url": "Appointment"},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    refused(doctor.post("", json=bundle, headers=FHIR_JSON))
    assert client.get("/Appointment", params={"_summary": "count"}).json()["total"] == total
    cancelled = {**appointment(record, "cancelled"), "id": in_care}
    assert client.put(f"/Appointment/{in_care}", json=cancelled, headers=FHIR_JSON).is_success
    reaches(doctor, record, False)


def test_a_doctor_does_not_move_or_revive_their_appointment(
    client: httpx.Client, record: Record, token_for: Caller, in_care: str
) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    before = client.get(f"/Appointment/{in_care}").json()
    moved = {**appointment(record, "booked", FAR), "id": in_care}
    refused(doctor.put(f"/Appointment/{in_care}", json=moved, headers=FHIR_JSON))
    patch = [{"op": "replace", "path": "/start", "value": FAR}]
    refused(
        doctor.patch(
            f"/Appointment/{in_care}",
            json=patch,
            headers={"Content-Type": "application/json-patch+json"},
        )
    )
    assert client.get(f"/Appointment/{in_care}").json() == before
    reason = {"cancelationReason": {"text": "The doctor is ill"}}
    cancelled = {**appointment(record, "cancelled"), **reason, "id": in_care}
    response = doctor.put(f"/Appointment/{in_care}", json=cancelled, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    revived = {**appointment(record, "booked"), "id": in_care}
    assert doctor.put(f"/Appointment/{in_care}", json=revived, headers=FHIR_JSON).status_code in (
        403,
        404,  # once cancelled, the appointment's patient is out of the doctor's view
    )
    assert client.get(f"/Appointment/{in_care}").json()["status"] == "cancelled"


def test_a_doctor_annotates_or_proposes_without_gaining_care(
    client: httpx.Client, record: Record, token_for: Caller, in_care: str
) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    current = client.get(f"/Appointment/{in_care}").json()
    noted = {**current, "comment": "Bring the previous X-ray"}
    noted.pop("meta")
    response = doctor.put(f"/Appointment/{in_care}", json=noted, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    proposal = doctor.post(
        "/Appointment", json=appointment(record, "proposed", FAR), headers=FHIR_JSON
    )
    assert proposal.status_code == 201, proposal.text
    client.put(
        f"/Appointment/{in_care}",
        json={**appointment(record, "cancelled"), "id": in_care},
        headers=FHIR_JSON,
    )
    reaches(doctor, record, False)
