"""A citizen is told when the hospital changes their appointment (cancels or moves it), in the
same transaction, with no detail of it, in the language they chose; not when they change it
themselves."""

from typing import Any

import httpx

from tests.factories import FHIR_JSON, patient
from tests.scheduling.clinic import (
    Clinic,
    Open,
    add_patient,
    add_slots,
    booked,
    citizen_context,
    hospital_context,
    parameters,
)

CHANGED = "urn:medsvc:notice-topic"
IN_CHINESE = "医院已更改您的一项预约，请登录查看。"
IN_ENGLISH = "The hospital has changed one of your appointments. Sign in to see it."


def notices(client: httpx.Client, patient_id: str) -> list[dict[str, Any]]:
    found = client.get("/Communication", params={"subject": f"Patient/{patient_id}"}).json()
    return [
        e["resource"]
        for e in found.get("entry", [])
        if e["resource"]["topic"]["coding"][0]["code"] == "appointment-changed"
    ]


def test_the_hospital_cancelling_tells_the_citizen_without_details(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    patient_id = add_patient(client, "1")
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{patient_id}")
    appointment = booked(client.post("/Appointment/$book", json=body, headers=FHIR_JSON))
    hospital = acting_as(hospital_context(clinic.organization))
    reason = parameters(reason="The doctor is ill")
    response = hospital.post(
        f"/Appointment/{appointment['id']}/$cancel", json=reason, headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    [notice] = notices(client, patient_id)
    assert notice["about"] == [{"reference": f"Appointment/{appointment['id']}"}]
    text = notice["payload"][0]["contentString"]
    assert "ill" not in text
    assert "Slot" not in text
    assert "doctor" not in text
    assert text == IN_CHINESE  # no language chosen: the city's default
    assert notice["language"] == "zh-CN"


def test_a_citizen_who_chose_english_is_told_in_english(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    patient_id = add_patient(client, "1")
    citizen = acting_as(citizen_context(patient_id))
    english = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}}]
    chosen = {**patient(mrn="1"), "id": patient_id, "communication": english}
    response = citizen.put(f"/Patient/{patient_id}", json=chosen, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    appointment = booked(
        citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    hospital = acting_as(hospital_context(clinic.organization))
    reason = parameters(reason="The doctor is ill")
    response = hospital.post(
        f"/Appointment/{appointment['id']}/$cancel", json=reason, headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    [notice] = notices(client, patient_id)
    assert notice["payload"] == [{"contentString": IN_ENGLISH}]
    assert notice["language"] == "en"


def test_the_hospital_moving_a_booking_tells_the_citizen_once(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    first, second = add_slots(client, clinic.schedule, 2)
    patient_id = add_patient(client, "1")
    body = parameters(slot=f"Slot/{first}", patient_id=f"Patient/{patient_id}")
    appointment = booked(client.post("/Appointment/$book", json=body, headers=FHIR_JSON))
    hospital = acting_as(hospital_context(clinic.organization))
    later = client.get(f"/Slot/{second}").json()
    moved = {
        **appointment,
        "slot": [{"reference": f"Slot/{second}"}],
        "start": later["start"],
        "end": later["end"],
    }
    response = hospital.put(f"/Appointment/{appointment['id']}", json=moved, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    unchanged = hospital.put(f"/Appointment/{appointment['id']}", json=response.json())
    assert unchanged.status_code == 200, unchanged.text
    assert len(notices(client, patient_id)) == 1


def test_a_citizen_cancelling_is_not_told(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    patient_id = add_patient(client, "1")
    citizen = acting_as(citizen_context(patient_id))
    appointment = booked(
        citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    response = citizen.post(f"/Appointment/{appointment['id']}/$cancel", json=parameters())
    assert response.status_code == 200, response.text
    assert notices(client, patient_id) == []
