"""Holds end: the job releases them, a booking of a full slot releases ended ones, and a
hold that has not ended keeps its slot from everyone else."""

from datetime import timedelta

import httpx

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.scheduling.holds import expire_holds
from tests.conftest import Backend
from tests.factories import FHIR_JSON
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


def hold(http: httpx.Client, slot: str) -> httpx.Response:
    return http.post("/Appointment/$hold", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)


def run_expiry(backend: Backend) -> int:
    server = fhir_server(backend.settings)
    with backend.database.session(write=True) as session:
        return expire_holds(server, session, clock.now())


def test_a_held_slot_is_refused_to_others_until_the_hold_ends(
    client: httpx.Client, clinic: Clinic, acting_as: Open, clean: Backend
) -> None:
    now = clock.now()
    clock.set_source(lambda: now)
    [slot] = add_slots(client, clinic.schedule, 1)
    first = acting_as(citizen_context(add_patient(client, "1")))
    second = acting_as(citizen_context(add_patient(client, "2")))
    held = booked(hold(first, slot))
    assert hold(second, slot).status_code == 409
    clock.set_source(lambda: now + timedelta(minutes=9, seconds=59))
    assert run_expiry(clean) == 0
    assert hold(second, slot).status_code == 409
    clock.set_source(lambda: now + timedelta(minutes=10))
    assert run_expiry(clean) == 1
    assert run_expiry(clean) == 0
    ended = client.get(f"/Appointment/{held['id']}").json()
    assert ended["status"] == "cancelled"
    assert ended["cancelationReason"]["text"].startswith("The hold ended")
    assert client.get(f"/Slot/{slot}").json()["status"] == "free"
    assert booked(hold(second, slot))["status"] == "pending"


def test_booking_a_full_slot_releases_holds_that_ended(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    now = clock.now()
    clock.set_source(lambda: now)
    [slot] = add_slots(client, clinic.schedule, 1)
    first = acting_as(citizen_context(add_patient(client, "1")))
    second = acting_as(citizen_context(add_patient(client, "2")))
    held = booked(hold(first, slot))
    clock.set_source(lambda: now + timedelta(minutes=11))
    response = second.post(
        "/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON
    )
    assert booked(response)["status"] == "booked"
    assert client.get(f"/Appointment/{held['id']}").json()["status"] == "cancelled"
    late = first.post(
        "/Appointment/$book",
        json=parameters(appt_id=f"Appointment/{held['id']}"),
        headers=FHIR_JSON,
    )
    assert late.status_code == 409, late.text
    assert "hold on Appointment/" in late.json()["issue"][0]["diagnostics"]
    assert "has ended" in late.json()["issue"][0]["diagnostics"]
    assert client.get(f"/Appointment/{held['id']}").json()["status"] == "cancelled"
    assert client.get(f"/Slot/{slot}").json()["status"] == "busy"


def test_a_hold_keeps_its_end_when_rewritten(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    now = clock.now()
    clock.set_source(lambda: now)
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    held = booked(hold(citizen, slot))
    clock.set_source(lambda: now + timedelta(minutes=5))
    again = parameters(appt_id=f"Appointment/{held['id']}")
    held_again = booked(citizen.post("/Appointment/$hold", json=again, headers=FHIR_JSON))
    assert held_again["extension"] == held["extension"]
    hospital = acting_as(hospital_context(clinic.organization))
    rewritten = {**held_again, "comment": "wheelchair access please"}
    response = hospital.put(f"/Appointment/{held['id']}", json=rewritten, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["extension"] == held["extension"]
