"""Rescheduling ($book with cancelled-appt-id) books the new slot and cancels the old
appointment together, or leaves the old one exactly as it was."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection

from medsvc.app import create_app
from medsvc.fhir.registry import WriteEvent
from medsvc.fhir.store import Stored
from medsvc.security.context import AuthContext, auth_context
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import (
    Clinic,
    Open,
    add_patient,
    add_slots,
    booked,
    citizen_context,
    parameters,
)


def reschedule(http: httpx.Client, old: str, slot: str) -> httpx.Response:
    body = parameters(slot=f"Slot/{slot}", cancelled_appt_id=f"Appointment/{old}")
    return http.post("/Appointment/$book", json=body, headers=FHIR_JSON)


def test_rescheduling_moves_the_booking(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    first, second = add_slots(client, clinic.schedule, 2)
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    old = booked(citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{first}")))
    new = booked(reschedule(citizen, old["id"], second))
    assert new["slot"] == [{"reference": f"Slot/{second}"}]
    assert client.get(f"/Appointment/{old['id']}").json()["status"] == "cancelled"
    assert client.get(f"/Slot/{first}").json()["status"] == "free"
    assert client.get(f"/Slot/{second}").json()["status"] == "busy"


def test_a_taken_new_slot_leaves_the_old_booking_intact(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    first, second = add_slots(client, clinic.schedule, 2)
    me = acting_as(citizen_context(add_patient(client, "1")))
    other = acting_as(citizen_context(add_patient(client, "2")))
    old = booked(me.post("/Appointment/$book", json=parameters(slot=f"Slot/{first}")))
    booked(other.post("/Appointment/$book", json=parameters(slot=f"Slot/{second}")))
    before = client.get(f"/Appointment/{old['id']}").json()
    response = reschedule(me, old["id"], second)
    assert response.status_code == 409, response.text
    assert client.get(f"/Appointment/{old['id']}").json() == before
    assert client.get(f"/Slot/{first}").json()["status"] == "busy"


def fail_after_booking(
    _session: Connection, _ctx: AuthContext, event: WriteEvent, _stored: Stored
) -> None:
    """An after-write hook on Appointment that fails once the new appointment is booked:
    between the two steps of a reschedule, after both have written."""
    resource: dict[str, Any] = event.resource or {}
    if event.interaction == "create" and resource.get("status") == "booked":
        raise RuntimeError("the process failed here")


@pytest.fixture
def failing_as(clean: Backend) -> Iterator[Open]:
    """Clients of an app with a failure injected after a new booking is written."""
    servers: list[LiveServer] = []
    clients: list[httpx.Client] = []

    def open_as(ctx: AuthContext) -> httpx.Client:
        async def provide(_request: object) -> AuthContext:
            return ctx

        port = free_port()
        app = create_app(make_settings(clean.url, port), clean.database)
        app.state.fhir.registry.on_write(["Appointment"], after=fail_after_booking)
        app.dependency_overrides[auth_context] = provide
        servers.append(LiveServer(app, port).__enter__())
        clients.append(httpx.Client(base_url=servers[-1].url + "/fhir", timeout=30))
        return clients[-1]

    yield open_as
    for http in clients:
        http.close()
    for server in servers:
        server.__exit__()


def test_a_failure_between_the_steps_leaves_the_old_booking_intact(
    client: httpx.Client, clinic: Clinic, acting_as: Open, failing_as: Open
) -> None:
    first, second = add_slots(client, clinic.schedule, 2)
    patient = add_patient(client, "1")
    citizen = acting_as(citizen_context(patient))
    old = booked(citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{first}")))
    before = client.get(f"/Appointment/{old['id']}").json()
    response = reschedule(failing_as(citizen_context(patient)), old["id"], second)
    assert response.status_code == 500
    assert client.get(f"/Appointment/{old['id']}").json() == before
    assert client.get(f"/Slot/{first}").json()["status"] == "busy"
    assert client.get(f"/Slot/{second}").json()["status"] == "free"
    assert client.get("/Appointment", params={"_summary": "count"}).json()["total"] == 1
