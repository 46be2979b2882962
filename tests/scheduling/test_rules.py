"""The booking rules: who sets which status, what a citizen may change, the cut-off, the
horizon, overlaps and the per-service limit; each refusal changes nothing."""

from datetime import timedelta

import httpx

from medsvc import clock
from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import (
    Clinic,
    Open,
    add_patient,
    add_slots,
    booked,
    citizen_context,
    hospital_context,
    open_clinic,
    parameters,
)


def book(http: httpx.Client, slot: str) -> httpx.Response:
    return http.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)


def refused(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == code
    return str(issue["diagnostics"])


def appointment_count(client: httpx.Client) -> int:
    return int(client.get("/Appointment", params={"_summary": "count"}).json()["total"])


def test_a_citizen_cannot_set_a_hospital_status(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    appointment = booked(book(citizen, slot))
    for status in ("arrived", "checked-in", "fulfilled", "noshow", "entered-in-error"):
        changed = {**appointment, "status": status}
        response = citizen.put(f"/Appointment/{appointment['id']}", json=changed, headers=FHIR_JSON)
        assert "only through" in refused(response, 403, "forbidden")
    assert client.get(f"/Appointment/{appointment['id']}").json()["status"] == "booked"


def test_the_hospital_and_its_doctor_set_hospital_statuses(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    appointment = booked(book(citizen, slot))
    hospital = acting_as(hospital_context(clinic.organization))
    doctor = acting_as(
        AuthContext(
            subject="dr",
            client_id="app",
            practitioner=f"Practitioner/{clinic.practitioner}",
            role="practitioner",
            scopes=frozenset({"user/*.cruds"}),
        )
    )
    current = client.get(f"/Appointment/{appointment['id']}").json()
    arrived = hospital.put(
        f"/Appointment/{appointment['id']}",
        json={**current, "status": "arrived"},
        headers=FHIR_JSON,
    )
    assert arrived.status_code == 200, arrived.text
    fulfilled = doctor.put(
        f"/Appointment/{appointment['id']}",
        json={**arrived.json(), "status": "fulfilled"},
        headers=FHIR_JSON,
    )
    assert fulfilled.status_code == 200, fulfilled.text
    assert client.get(f"/Slot/{slot}").json()["status"] == "busy"


def test_a_citizen_does_not_move_a_booking_by_update(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    first, second = add_slots(client, clinic.schedule, 2)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    appointment = booked(book(citizen, first))
    moved = {**appointment, "slot": [{"reference": f"Slot/{second}"}]}
    response = citizen.put(f"/Appointment/{appointment['id']}", json=moved, headers=FHIR_JSON)
    assert "$book" in refused(response, 403, "forbidden")  # the role write policy's answer
    assert client.get(f"/Slot/{first}").json()["status"] == "busy"
    assert client.get(f"/Slot/{second}").json()["status"] == "free"


def test_a_citizen_cancels_until_the_cut_off(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    start = (clock.now() + timedelta(days=2)).replace(microsecond=0)
    [slot] = add_slots(client, clinic.schedule, 1, first=start)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    appointment = booked(book(citizen, slot))
    clock.set_source(lambda: start - timedelta(hours=23))
    late = citizen.post(f"/Appointment/{appointment['id']}/$cancel", json=parameters())
    assert "24 hours" in refused(late, 422, "business-rule")
    assert client.get(f"/Slot/{slot}").json()["status"] == "busy"
    clock.set_source(lambda: start - timedelta(hours=25))
    done = citizen.post(f"/Appointment/{appointment['id']}/$cancel", json=parameters())
    assert done.status_code == 200, done.text
    assert client.get(f"/Slot/{slot}").json()["status"] == "free"


def test_no_booking_in_the_past_or_beyond_the_horizon(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    now = clock.now().replace(microsecond=0)
    [past] = add_slots(client, clinic.schedule, 1, first=now - timedelta(hours=1))
    [far] = add_slots(client, clinic.schedule, 1, first=now + timedelta(days=91))
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    assert "started" in refused(book(citizen, past), 422, "business-rule")
    assert "90 days" in refused(book(citizen, far), 422, "business-rule")
    assert appointment_count(client) == 0


def test_a_citizen_has_no_two_appointments_at_once(client: httpx.Client, acting_as: Open) -> None:
    start = (clock.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    one, other = open_clinic(client, "North"), open_clinic(client, "South")
    [north] = add_slots(client, one.schedule, 1, first=start, minutes=30)
    [south] = add_slots(client, other.schedule, 1, first=start + timedelta(minutes=15))
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    booked(book(citizen, north))
    assert "another appointment" in refused(book(citizen, south), 422, "business-rule")
    assert client.get(f"/Slot/{south}").json()["status"] == "free"


def test_a_citizen_holds_a_limited_number_of_bookings_per_service(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    slots = add_slots(client, clinic.schedule, 3)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    booked(book(citizen, slots[0]))
    booked(book(citizen, slots[1]))
    assert "2 upcoming" in refused(book(citizen, slots[2]), 422, "business-rule")
    assert appointment_count(client) == 2


def test_a_citizen_books_for_themselves_only(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    me, someone = add_patient(client, "1"), add_patient(client, "2")
    citizen = acting_as(citizen_context(me))
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{someone}")
    refused(citizen.post("/Appointment/$book", json=body, headers=FHIR_JSON), 403, "forbidden")
    assert client.get(f"/Slot/{slot}").json()["status"] == "free"
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{me}")
    appointment = booked(citizen.post("/Appointment/$book", json=body, headers=FHIR_JSON))
    patients = [
        p["actor"]["reference"]
        for p in appointment["participant"]
        if p["actor"]["reference"].startswith("Patient/")
    ]
    assert patients == [f"Patient/{me}"]


def test_a_citizen_deletes_no_booking(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    appointment = booked(book(citizen, slot))
    response = citizen.delete(f"/Appointment/{appointment['id']}")
    refused(response, 403, "forbidden")
    assert client.get(f"/Slot/{slot}").json()["status"] == "busy"


def test_a_slot_with_bookings_keeps_its_time(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    booked(book(citizen, slot))
    hospital = acting_as(hospital_context(clinic.organization))
    current = client.get(f"/Slot/{slot}").json()
    for change in ({"start": current["end"]}, {"status": "busy-unavailable"}):
        response = hospital.put(f"/Slot/{slot}", json={**current, **change}, headers=FHIR_JSON)
        assert "cancel them first" in refused(response, 409, "conflict")
    refused(hospital.delete(f"/Slot/{slot}"), 409, "conflict")
    assert client.get(f"/Slot/{slot}").json()["status"] == "busy"
