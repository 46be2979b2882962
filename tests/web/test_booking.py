"""A citizen finds care and books in the app: by hospital and by name (Chinese included), a
doctor's free times by day, holding and confirming, a time lost to someone faster, their
appointment's page and cancelling; and what the app refuses."""

import re

import httpx
import pytest

from tests.conftest import Backend
from tests.scheduling.clinic import add_slots, created
from tests.web.clinic import day_after_tomorrow, doctors_schedule
from tests.web.conftest import People, origin_of, signed_in
from tests.web.test_signin import cookie_of, session_of

EN = {"Accept-Language": "en"}


@pytest.fixture
def times(client: httpx.Client, people: People) -> list[str]:
    schedule_id = doctors_schedule(client, people.doctor)
    return add_slots(client, schedule_id, 3, first=day_after_tomorrow())


def post(browser: httpx.Client, backend: Backend, path: str, **fields: str) -> httpx.Response:
    session = session_of(backend, cookie_of(browser))
    assert session is not None
    form = {"csrf_token": session.csrf, **fields}
    return browser.post(path, data=form, headers={"Origin": origin_of(browser), **EN})


def hold(browser: httpx.Client, backend: Backend, slot: str, doctor: str) -> httpx.Response:
    return post(browser, backend, "/app/book", slot=f"Slot/{slot}", practitioner=doctor)


def test_a_citizen_finds_a_doctor_by_hospital_and_sees_free_times_by_day(
    browser: httpx.Client, people: People, times: list[str]
) -> None:
    signed_in(browser, "mei")
    found = browser.get("/app/find", headers=EN)
    assert "北区医院" in found.text
    organization = re.search(r'href="/app/find/hospitals/([^"]+)"', found.text)
    assert organization is not None
    hospital = browser.get(f"/app/find/hospitals/{organization.group(1)}", headers=EN)
    assert "<h2>心内科</h2>" in hospital.text
    assert f'href="/app/find/doctors/{people.doctor}"' in hospital.text
    assert "Mikko Wang" in hospital.text
    doctor = browser.get(f"/app/find/doctors/{people.doctor}", headers=EN)
    assert 'action="/app/book"' in doctor.text
    assert doctor.text.count('name="slot"') == 3
    assert "3 free" in doctor.text


def test_a_hospitals_page_lists_its_doctors_by_department_from_their_roles(
    browser: httpx.Client, client: httpx.Client, people: People
) -> None:
    """Each active role at the hospital puts its doctor under the role's specialty, whether or
    not they have free times; ended roles, other hospitals' doctors and another server's
    Practitioners are not listed; a role naming a version of its doctor lists the doctor."""
    doctors_schedule(client, people.doctor)
    signed_in(browser, "mei")
    found = browser.get("/app/find", headers=EN)
    hospital = re.search(r'href="/app/find/hospitals/([^"]+)"', found.text)
    assert hospital is not None
    at = {"reference": f"Organization/{hospital.group(1)}"}
    elsewhere = created(client, {"resourceType": "Organization", "name": "南区医院"})

    def doctor(family: str) -> str:
        return created(client, {"resourceType": "Practitioner", "name": [{"family": family}]})

    def role(practitioner: str, organization: dict[str, str], **more: object) -> None:
        resource = {"practitioner": {"reference": practitioner}, "organization": organization}
        created(client, {"resourceType": "PractitionerRole", **resource, **more})

    ortho, general, versioned = doctor("Okafor"), doctor("Berg"), doctor("Haas")
    role(f"Practitioner/{ortho}", at, specialty=[{"text": "骨科"}])
    role(f"Practitioner/{general}", at)
    role(f"Practitioner/{versioned}/_history/1", at, specialty=[{"text": "骨科"}])
    role(f"Practitioner/{doctor('Retired')}", at, active=False, specialty=[{"text": "骨科"}])
    role(f"Practitioner/{doctor('Elsewhere')}", {"reference": f"Organization/{elsewhere}"})
    role("https://elsewhere.example/fhir/Practitioner/7", at, specialty=[{"text": "外院"}])
    page = browser.get(f"/app/find/hospitals/{hospital.group(1)}", headers=EN).text
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == ["心内科", "骨科", "General"]
    for doctor in (people.doctor, ortho, versioned, general):
        assert f'href="/app/find/doctors/{doctor}"' in page
    assert "Haas" in page  # named from the included Practitioner
    for not_listed in ("Retired", "Elsewhere", "外院", "elsewhere.example"):
        assert not_listed not in page


@pytest.mark.parametrize("typed", ["Wang", "wan", "张", "张伟"])
def test_a_citizen_finds_a_doctor_by_name(
    browser: httpx.Client, client: httpx.Client, people: People, typed: str
) -> None:
    created(client, {"resourceType": "Practitioner", "name": [{"family": "张", "given": ["伟"]}]})
    signed_in(browser, "mei")
    found = browser.get("/app/find", params={"q": typed}, headers=EN)
    assert found.status_code == 200
    expected = "Mikko Wang" if typed.lower().startswith("wan") else "张伟"
    assert expected in found.text


def test_a_citizen_holds_confirms_and_cancels_a_time(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "mei")
    held = hold(browser, clean, times[0], f"Practitioner/{people.doctor}")
    assert held.status_code == 303, held.text
    appointment = held.headers["location"]
    page = browser.get(appointment, headers=EN)
    assert "Confirm your appointment" in page.text
    assert "This time is held for you until" in page.text
    assert 'src="/app/static/countdown.js"' in page.text
    confirmed = post(browser, clean, f"{appointment}/book")
    assert confirmed.status_code == 303, confirmed.text
    page = browser.get(appointment, headers=EN)
    assert "Status: Booked" in page.text
    assert "You can cancel until" in page.text
    assert "门诊楼" in page.text
    assert appointment in browser.get("/app/", headers=EN).text
    cancelled = post(browser, clean, f"{appointment}/cancel")
    assert cancelled.status_code == 303, cancelled.text
    assert "Status: Cancelled" in browser.get(appointment, headers=EN).text
    assert appointment not in browser.get("/app/", headers=EN).text


def test_a_time_taken_first_by_another_citizen_offers_the_next_times(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "lei")
    assert hold(browser, clean, times[0], f"Practitioner/{people.doctor}").status_code == 303
    browser.cookies.clear()
    signed_in(browser, "mei")
    lost = hold(browser, clean, times[0], f"Practitioner/{people.doctor}")
    assert lost.status_code == 409
    assert "That time was just taken" in lost.text
    assert 'action="/app/book"' in lost.text
    assert lost.text.count('name="slot"') == 2  # the doctor's other free times
    assert f"Slot/{times[0]}" not in lost.text


def test_booking_forms_are_checked_before_any_call(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "mei")
    forged = browser.post(
        "/app/book",
        data={"csrf_token": "x", "slot": f"Slot/{times[0]}"},
        headers={"Origin": origin_of(browser)},
    )
    assert forged.status_code == 403
    for slot in ("Patient/1", f"Slot/{times[0]}/x", "Slot/", "Slot/../x", "", "Slot/" + "a" * 65):
        assert post(browser, clean, "/app/book", slot=slot).status_code == 404


def test_another_citizens_appointment_is_not_found(
    browser: httpx.Client, people: People, times: list[str], clean: Backend
) -> None:
    signed_in(browser, "lei")
    appointment = hold(browser, clean, times[0], "").headers["location"]
    browser.cookies.clear()
    signed_in(browser, "mei")
    assert browser.get(appointment, headers=EN).status_code == 404
    assert post(browser, clean, f"{appointment}/book").status_code == 404
    assert post(browser, clean, f"{appointment}/cancel").status_code == 404


def test_finding_and_booking_are_for_citizens(browser: httpx.Client, people: People) -> None:
    assert browser.get("/app/find", headers=EN).status_code == 401
    signed_in(browser, "dr-wang")
    assert browser.get("/app/find", headers=EN).status_code == 404
    assert browser.get(f"/app/find/doctors/{people.doctor}", headers=EN).status_code == 404
