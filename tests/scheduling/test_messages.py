"""What a person is told when a hold or booking cannot be made: the status that fits and a
message naming what went wrong, with nothing written."""

from datetime import timedelta

import httpx
import pytest

from medsvc import clock
from medsvc.fhir.datetimes import format_instant
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


def appointments(client: httpx.Client) -> int:
    return int(client.get("/Appointment", params={"_summary": "count"}).json()["total"])


@pytest.mark.parametrize("operation", ["$hold", "$book"])
@pytest.mark.parametrize("missing", ["Slot/nope", "Slot/0000-gone"])
def test_a_slot_that_does_not_exist_is_404_naming_it(
    client: httpx.Client, clinic: Clinic, acting_as: Open, operation: str, missing: str
) -> None:
    [real] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "111")))
    response = citizen.post(
        f"/Appointment/{operation}",
        json=parameters(slot=[f"Slot/{real}", missing]),
        headers=FHIR_JSON,
    )
    assert response.status_code == 404, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "not-found"
    assert missing in issue["diagnostics"]
    assert "app-" not in issue["diagnostics"]
    assert appointments(client) == 0
    assert client.get(f"/Slot/{real}").json()["status"] == "free"


def test_a_deleted_slot_is_404(client: httpx.Client, clinic: Clinic, acting_as: Open) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    assert client.delete(f"/Slot/{slot}").status_code in (200, 204)
    citizen = acting_as(citizen_context(add_patient(client, "111")))
    response = citizen.post(
        "/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON
    )
    assert response.status_code == 404, response.text
    assert f"Slot/{slot}" in response.json()["issue"][0]["diagnostics"]


def booked_by_a_citizen(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> tuple[httpx.Client, str, str]:
    """A citizen, a slot, and the citizen's booked appointment in it."""
    [slot] = add_slots(client, clinic.schedule, 1)
    citizen = acting_as(citizen_context(add_patient(client, "111")))
    done = booked(
        citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}"), headers=FHIR_JSON)
    )
    return citizen, slot, done["id"]


@pytest.mark.parametrize(
    ("cancel_first", "operation", "said", "slot_status"),
    [
        (False, "$hold", "is booked and cannot be held again", "busy"),
        (True, "$book", "is cancelled and cannot be booked again", "free"),
        (True, "$hold", "is cancelled and cannot be held again", "free"),
    ],
)
def test_a_booking_is_neither_made_a_hold_nor_revived(
    client: httpx.Client,
    clinic: Clinic,
    acting_as: Open,
    cancel_first: bool,
    operation: str,
    said: str,
    slot_status: str,
) -> None:
    citizen, slot, appointment = booked_by_a_citizen(client, clinic, acting_as)
    if cancel_first:
        cancelled = citizen.post(
            f"/Appointment/{appointment}/$cancel", json=parameters(reason="ill")
        )
        assert cancelled.status_code == 200, cancelled.text
    before = client.get(f"/Appointment/{appointment}").json()
    again = citizen.post(
        f"/Appointment/{operation}",
        json=parameters(appt_id=f"Appointment/{appointment}"),
        headers=FHIR_JSON,
    )
    assert again.status_code == 409, again.text
    assert said in again.json()["issue"][0]["diagnostics"]
    assert client.get(f"/Appointment/{appointment}").json() == before
    assert client.get(f"/Slot/{slot}").json()["status"] == slot_status


def test_find_end_is_exclusive(client: httpx.Client, clinic: Clinic) -> None:
    """end=<a date> is the midnight that begins it: a slot starting then is not offered."""
    midnight = (clock.now() + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    before, at_end, after = add_slots(
        client, clinic.schedule, 3, first=midnight - timedelta(minutes=20), minutes=20
    )
    window = {"start": (midnight - timedelta(days=1)).date().isoformat()}
    for end in (midnight.date().isoformat(), format_instant(midnight)):
        response = client.post(
            "/Appointment/$find", json=parameters(**window, end=end), headers=FHIR_JSON
        )
        assert response.status_code == 200, response.text
        found = [e["resource"]["slot"][0]["reference"] for e in response.json().get("entry", [])]
        assert found == [f"Slot/{before}"], end
    assert {at_end, after}.isdisjoint(found)
