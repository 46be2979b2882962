"""Many bookings of few slots at once: every seat goes to exactly one booking, every other
attempt is a 409, and nothing is half-written (threads with their own sessions, and HTTP)."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.errors import MedsvcError
from medsvc.fhir.router import FhirRequest, dispatch
from medsvc.scheduling.ledger import LEDGER, SEAT
from medsvc.security.context import AuthContext, platform_context
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient
from tests.scheduling.clinic import add_slots, citizen_context, open_clinic, parameters

ATTEMPTS, SLOTS = 200, 10


def add_patients(client: httpx.Client, count: int) -> list[str]:
    entries = [
        {"resource": patient(mrn=f"c-{i}"), "request": {"method": "POST", "url": "Patient"}}
        for i in range(count)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = client.post("", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    return [
        e["response"]["location"].split("Patient/")[1].split("/")[0]
        for e in response.json()["entry"]
    ]


def book_in_session(backend: Backend, slot_id: str, patient_id: str) -> int:
    """One booking through the FHIR layer on a session of its own, as a request would."""
    body = parameters(slot=f"Slot/{slot_id}", patient_id=f"Patient/{patient_id}")
    return book_as(backend, platform_context("test"), body)


def book_as(backend: Backend, ctx: AuthContext, body: dict[str, Any]) -> int:
    server = fhir_server(backend.settings)
    request = FhirRequest("POST", "Appointment/$book", body=body)
    try:
        with backend.database.session(write=True) as session:
            return dispatch(server, session, ctx, request).status
    except MedsvcError as error:
        return error.status


def book_slot(backend: Backend, ctx: AuthContext, slot_id: str) -> int:
    return book_as(backend, ctx, parameters(slot=f"Slot/{slot_id}"))


def assert_each_seat_once(
    backend: Backend, client: httpx.Client, slots: list[str], capacity: int
) -> None:
    with backend.database.session(write=False) as session:
        seats = session.execute(select(SEAT.c.slot_id, SEAT.c.appointment_id)).all()
        ledger = {r.slot_id: r.taken for r in session.execute(select(LEDGER))}
    assert Counter(s.slot_id for s in seats) == dict.fromkeys(slots, capacity)
    assert ledger == dict.fromkeys(slots, capacity)
    booked = client.get("/Appointment", params={"status": "booked", "_count": 1000}).json()
    assert booked["total"] == len(slots) * capacity
    assert (
        client.get("/Appointment", params={"_summary": "count"}).json()["total"]
        == len(slots) * capacity
    )
    assert {s.appointment_id for s in seats} == {e["resource"]["id"] for e in booked["entry"]}
    for slot in slots:
        assert client.get(f"/Slot/{slot}").json()["status"] == "busy"


@pytest.mark.parametrize("capacity", [1, 3])
def test_threads_with_their_own_sessions_book_each_seat_once(
    client: httpx.Client, clean: Backend, capacity: int
) -> None:
    clinic = open_clinic(client)
    slots = add_slots(client, clinic.schedule, SLOTS, capacity=capacity)
    patients = add_patients(client, ATTEMPTS)
    with ThreadPoolExecutor(32) as pool:
        statuses = list(
            pool.map(
                lambda i: book_in_session(clean, slots[i % SLOTS], patients[i]), range(ATTEMPTS)
            )
        )
    assert Counter(statuses) == {200: SLOTS * capacity, 409: ATTEMPTS - SLOTS * capacity}
    assert_each_seat_once(clean, client, slots, capacity)


@pytest.mark.parametrize("capacity", [1, 3])
def test_concurrent_http_bookings_book_each_seat_once(
    client: httpx.Client, clean: Backend, capacity: int
) -> None:
    clinic = open_clinic(client)
    slots = add_slots(client, clinic.schedule, SLOTS, capacity=capacity)
    patients = add_patients(client, ATTEMPTS)

    def book(i: int) -> Any:
        body = parameters(slot=f"Slot/{slots[i % SLOTS]}", patient_id=f"Patient/{patients[i]}")
        response = client.post("/Appointment/$book", json=body, headers=FHIR_JSON)
        if response.status_code == 409:
            assert response.json()["issue"][0]["code"] == "conflict"
        return response.status_code

    with ThreadPoolExecutor(64) as pool:
        statuses = list(pool.map(book, range(ATTEMPTS)))
    assert Counter(statuses) == {200: SLOTS * capacity, 409: ATTEMPTS - SLOTS * capacity}
    assert_each_seat_once(clean, client, slots, capacity)


def test_one_citizen_booking_many_times_at_once_gets_one_appointment_per_time(
    client: httpx.Client, clean: Backend
) -> None:
    start = (clock.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    clinics = [open_clinic(client, f"Clinic {i}") for i in range(8)]
    same_time = [add_slots(client, c.schedule, 1, first=start)[0] for c in clinics]
    citizen = citizen_context(add_patients(client, 1)[0])
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda slot: book_as(clean, citizen, parameters(slot=f"Slot/{slot}")), same_time
            )
        )
    assert Counter(statuses) == {200: 1, 422: 7}
    with clean.database.session(write=False) as session:
        assert len(session.execute(select(SEAT)).all()) == 1


def test_one_citizen_booking_one_service_at_once_stays_within_the_limit(
    client: httpx.Client, clean: Backend
) -> None:
    clinic = open_clinic(client)
    slots = add_slots(client, clinic.schedule, 8)
    citizen = citizen_context(add_patients(client, 1)[0])
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda slot: book_as(clean, citizen, parameters(slot=f"Slot/{slot}")), slots)
        )
    limit = clean.settings.max_active_bookings_per_service
    assert Counter(statuses) == {200: limit, 422: len(slots) - limit}
    with clean.database.session(write=False) as session:
        assert len(session.execute(select(SEAT)).all()) == limit
