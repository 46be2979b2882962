"""A citizen's appointments in the app: the coming and the past ones, and moving a booked one
to another free time, the old one cancelled with it or nothing changed at all."""

import httpx
import pytest

from tests.conftest import Backend
from tests.factories import FHIR_JSON, appointment
from tests.web.conftest import People, signed_in
from tests.web.test_booking import EN, hold, post, times

__all__ = ["times"]  # the fixture


def booked(browser: httpx.Client, backend: Backend, slot: str, doctor: str) -> str:
    held = hold(browser, backend, slot, f"Practitioner/{doctor}")
    assert held.status_code == 303, held.text
    location = str(held.headers["location"])
    assert post(browser, backend, f"{location}/book").status_code == 303
    return location


def test_coming_and_past_appointments_are_listed_apart(
    browser: httpx.Client, client: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    visit = appointment(
        f"Patient/{people.citizen}",
        f"Practitioner/{people.doctor}",
        status="fulfilled",
        start="2026-03-02T01:00:00Z",
    )
    made = client.post("/Appointment", json=visit, headers=FHIR_JSON)
    assert made.status_code == 201, made.text
    signed_in(browser, "mei")
    coming = booked(browser, clean, times[0], people.doctor)
    page = browser.get("/app/appointments", headers=EN).text
    upcoming, past = page.split('id="past"', 1)
    assert coming in upcoming
    assert coming not in past
    assert f"/app/appointments/{made.json()['id']}" in past
    assert "Seen" in past
    assert "/app/appointments" in browser.get("/app/", headers=EN).text


def test_a_citizen_moves_an_appointment_to_another_time(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "mei")
    old = booked(browser, clean, times[0], people.doctor)
    assert f'href="{old}/reschedule"' in browser.get(old, headers=EN).text
    choices = browser.get(f"{old}/reschedule", headers=EN)
    assert choices.status_code == 200
    assert f'action="{old}/reschedule"' in choices.text
    assert choices.text.count('name="slot"') == 2  # the doctor's other times
    moved = post(browser, clean, f"{old}/reschedule", slot=f"Slot/{times[1]}")
    assert moved.status_code == 303, moved.text
    new = str(moved.headers["location"])
    assert new != old
    assert "Status: Booked" in browser.get(new, headers=EN).text
    assert "Status: Cancelled" in browser.get(old, headers=EN).text
    page = browser.get("/app/appointments", headers=EN).text.split('id="past"', 1)[0]
    assert new in page
    assert old not in page
    again = browser.get(f"{new}/reschedule", headers=EN).text
    assert f"Slot/{times[0]}" in again  # the old time is free again


def test_a_move_to_a_time_just_taken_changes_nothing(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "lei")
    booked(browser, clean, times[1], people.doctor)
    browser.cookies.clear()
    signed_in(browser, "mei")
    old = booked(browser, clean, times[0], people.doctor)
    lost = post(
        browser,
        clean,
        f"{old}/reschedule",
        slot=f"Slot/{times[1]}",
        practitioner=f"Practitioner/{people.doctor}",
    )
    assert lost.status_code == 409
    assert "Your appointment was not changed." in lost.text
    assert f'action="{old}/reschedule"' in lost.text
    assert lost.text.count('name="slot"') == 1  # the one time still free
    assert "Status: Booked" in browser.get(old, headers=EN).text


@pytest.mark.parametrize(
    "slot", ["Patient/1", "Slot/", "Slot/../x", "", "Slot/a/b", "Slot/" + "a" * 65]
)
def test_a_move_names_one_slot_or_is_not_found(
    browser: httpx.Client, people: People, times: list[str], clean: Backend, slot: str
) -> None:
    signed_in(browser, "mei")
    old = booked(browser, clean, times[0], people.doctor)
    assert post(browser, clean, f"{old}/reschedule", slot=slot).status_code == 404
    assert "Status: Booked" in browser.get(old, headers=EN).text


def test_another_citizens_appointment_cannot_be_moved(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "lei")
    theirs = booked(browser, clean, times[0], people.doctor)
    browser.cookies.clear()
    signed_in(browser, "mei")
    assert browser.get(f"{theirs}/reschedule", headers=EN).status_code == 404
    refused = post(browser, clean, f"{theirs}/reschedule", slot=f"Slot/{times[1]}")
    assert refused.status_code == 404
    forged = browser.post(
        f"{theirs}/reschedule", data={"csrf_token": "x", "slot": f"Slot/{times[1]}"}
    )
    assert forged.status_code == 403
    browser.cookies.clear()
    signed_in(browser, "lei")
    assert "Status: Booked" in browser.get(theirs, headers=EN).text


def test_only_a_booked_appointment_is_moved(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "mei")
    old = booked(browser, clean, times[0], people.doctor)
    assert post(browser, clean, f"{old}/cancel").status_code == 303
    assert browser.get(f"{old}/reschedule", headers=EN).status_code == 404
    refused = post(browser, clean, f"{old}/reschedule", slot=f"Slot/{times[1]}")
    assert refused.status_code in (404, 409, 422)
    assert "Status: Cancelled" in browser.get(old, headers=EN).text
