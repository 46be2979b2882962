"""Holding, booking and cancelling through the $operations and plain REST, as a citizen and
as a hospital: the slot's seat and the Appointment change together, or nothing does."""

from datetime import timedelta

import httpx

from medsvc.assembly import fhir_server
from medsvc.fhir.datetimes import parse_instant
from medsvc.notify.install import notifier
from medsvc.scheduling import reminders
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


def slot_status(client: httpx.Client, slot_id: str) -> str:
    return str(client.get(f"/Slot/{slot_id}").json()["status"])


def test_a_citizen_books_a_slot_and_it_becomes_busy(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    me = add_patient(client, "111")
    citizen = acting_as(citizen_context(me))
    appointment = booked(
        citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    assert appointment["status"] == "booked"
    assert appointment["slot"] == [{"reference": f"Slot/{slot}"}]
    actors = [p["actor"]["reference"] for p in appointment["participant"]]
    assert actors[0] == f"Patient/{me}"
    assert f"Practitioner/{clinic.practitioner}" in actors
    assert appointment["start"] < appointment["end"]
    assert slot_status(client, slot) == "busy"


def test_the_second_booking_of_a_slot_is_a_conflict_and_changes_nothing(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    first = acting_as(citizen_context(add_patient(client, "111")))
    second = acting_as(citizen_context(add_patient(client, "222")))
    booked(
        first.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    before = client.get("/Appointment").json()["total"]
    lost = second.post(
        "/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON
    )
    assert lost.status_code == 409, lost.text
    assert lost.json()["issue"][0]["code"] == "conflict"
    assert client.get("/Appointment").json()["total"] == before


def test_hold_then_book_then_cancel_frees_the_slot(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1, first=None)
    citizen = acting_as(citizen_context(add_patient(client, "111")))
    held = booked(
        citizen.post("/Appointment/$hold", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    assert held["status"] == "pending"
    assert slot_status(client, slot) == "busy-tentative"
    assert any(e["url"] == "urn:medsvc:extension:hold-expires" for e in held["extension"])
    done = booked(
        citizen.post(
            "/Appointment/$book",
            json=parameters(appt_id=f"Appointment/{held['id']}"),
            headers=FHIR_JSON,
        )
    )
    assert done["id"] == held["id"]
    assert done["status"] == "booked"
    assert "extension" not in done
    assert slot_status(client, slot) == "busy"
    cancelled = citizen.post(f"/Appointment/{held['id']}/$cancel", json=parameters(reason="ill"))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert slot_status(client, slot) == "free"


def test_a_capacity_slot_takes_as_many_bookings_as_its_capacity(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1, capacity=3)
    answers = []
    for mrn in ("1", "2", "3", "4"):
        citizen = acting_as(citizen_context(add_patient(client, mrn)))
        answers.append(
            citizen.post(
                "/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON
            ).status_code
        )
    assert answers == [200, 200, 200, 409]
    assert slot_status(client, slot) == "busy"


def test_plain_post_of_a_booked_appointment_takes_the_slot(
    client: httpx.Client, clinic: Clinic, backend: Backend
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    times = client.get(f"/Slot/{slot}").json()
    me = add_patient(client, "111")
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot}"}],
        "start": times["end"],
        "end": times["end"],
        "participant": [{"actor": {"reference": f"Patient/{me}"}, "status": "accepted"}],
    }
    elsewhere = client.post("/Appointment", json=appointment, headers=FHIR_JSON)
    assert elsewhere.status_code == 422, elsewhere.text
    assert elsewhere.json()["issue"][0]["expression"] == ["Appointment.start"]
    assert slot_status(client, slot) == "free"
    appointment["start"] = times["start"]
    response = client.post("/Appointment", json=appointment, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    assert slot_status(client, slot) == "busy"
    again = client.post("/Appointment", json=appointment, headers=FHIR_JSON)
    assert again.status_code == 409
    assert again.json()["issue"][0]["code"] == "conflict"


def test_a_hospital_cancels_only_with_a_reason(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    me = add_patient(client, "111")
    citizen = acting_as(citizen_context(me))
    appointment = booked(
        citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    hospital = acting_as(hospital_context(clinic.organization))
    refused = hospital.post(f"/Appointment/{appointment['id']}/$cancel", json=parameters())
    assert refused.status_code == 422, refused.text
    assert refused.json()["issue"][0]["expression"] == ["Appointment.cancelationReason"]
    assert slot_status(client, slot) == "busy"
    done = hospital.post(
        f"/Appointment/{appointment['id']}/$cancel", json=parameters(reason="Doctor ill")
    )
    assert done.status_code == 200, done.text
    assert slot_status(client, slot) == "free"


def test_an_update_to_cancelled_frees_the_slot(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "111")))
    appointment = booked(
        citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    cancelled = {**appointment, "status": "cancelled", "cancelationReason": {"text": "Ill"}}
    by_citizen = citizen.put(f"/Appointment/{appointment['id']}", json=cancelled)
    assert by_citizen.status_code == 403, by_citizen.text  # a citizen cancels with $cancel
    assert slot_status(client, slot) == "busy"
    hospital = acting_as(hospital_context(clinic.organization))
    response = hospital.put(f"/Appointment/{appointment['id']}", json=cancelled, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert slot_status(client, slot) == "free"


def test_a_booking_is_reminded_once_and_a_cancelled_one_not_at_all(
    client: httpx.Client, clinic: Clinic, acting_as: Open, backend: Backend
) -> None:
    kept, dropped = add_slots(client, clinic.schedule, 2, minutes=60)
    citizen = acting_as(citizen_context(add_patient(client, "111")))
    booked(citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{kept}")))
    gone = booked(citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{dropped}")))
    citizen.post(f"/Appointment/{gone['id']}/$cancel", json=parameters())
    server = fhir_server(backend.settings)
    start = parse_instant(client.get(f"/Slot/{kept}").json()["start"])
    later = start - timedelta(hours=1)
    sent = []
    for _ in range(2):
        with backend.database.session(write=True) as session:
            sent.append(
                reminders.send_due_reminders(
                    notifier(server, backend.settings), "UTC", session, later
                )
            )
    assert sent == [1, 0]  # the 24 h one is superseded by the 2 h one when both are due
    messages = client.get("/Communication", params={"category": "reminder"}).json()
    assert messages["total"] == 1
    assert messages["entry"][0]["resource"]["about"] != [{"reference": f"Appointment/{gone['id']}"}]
