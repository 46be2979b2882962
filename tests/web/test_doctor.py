"""A doctor in the app: their day with each patient's name, status and reason; marking a
visit arrived, seen or a no-show; a patient's results under the care relationship."""

import re
from datetime import timedelta

import httpx
import pytest

from tests.conftest import Backend
from tests.scheduling.clinic import Open
from tests.web.clinic import book_visits, day_after_tomorrow, doctors_schedule
from tests.web.conftest import People, origin_of, signed_in
from tests.web.results import push_results
from tests.web.test_signin import cookie_of, session_of

EN = {"Accept-Language": "en"}


@pytest.fixture
def visits(client: httpx.Client, people: People, acting_as: Open) -> list[str]:
    schedule_id = doctors_schedule(client, people.doctor)
    return book_visits(
        client, acting_as, schedule_id, [people.citizen, people.other], day_after_tomorrow()
    )


def day_page(browser: httpx.Client) -> str:
    response = browser.get(
        "/app/day", params={"date": day_after_tomorrow().date().isoformat()}, headers=EN
    )
    assert response.status_code == 200, response.text
    return response.text


def csrf_of(browser: httpx.Client, backend: Backend) -> str:
    session = session_of(backend, cookie_of(browser))
    assert session is not None
    return session.csrf


def mark(
    browser: httpx.Client, backend: Backend, appointment: str, status: str, version: str = ""
) -> httpx.Response:
    form = {
        "csrf_token": csrf_of(browser, backend),
        "status": status,
        "date": day_after_tomorrow().date().isoformat(),
        "version": version,
    }
    return browser.post(
        f"/app/appointments/{appointment}/status", data=form, headers={"Origin": origin_of(browser)}
    )


def test_a_doctor_sees_the_days_visits_with_names_and_statuses(
    browser: httpx.Client, people: People, visits: list[str]
) -> None:
    signed_in(browser, "dr-wang")
    page = day_page(browser)
    assert page.count('class="card"') == 2
    assert "李梅" in page
    assert "王磊" in page
    assert page.count("Booked") == 2
    assert f'href="/app/patients/{people.citizen}/results"' in page
    other_day = browser.get("/app/day", params={"date": "2020-01-01"}, headers=EN)
    assert "No appointments on this day." in other_day.text


def test_a_doctor_marks_a_visit_arrived_then_seen(
    browser: httpx.Client, people: People, visits: list[str], clean: Backend
) -> None:
    signed_in(browser, "dr-wang")
    first = visits[0]
    done = mark(browser, clean, first, "arrived")
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith("/app/day?date=")
    assert "Arrived" in day_page(browser)
    assert mark(browser, clean, first, "fulfilled").status_code == 303
    page = day_page(browser)
    assert "Seen" in page
    assert mark(browser, clean, visits[1], "noshow").status_code == 303
    assert "Did not come" in day_page(browser)


def test_marking_needs_the_sessions_form_and_a_known_status(
    browser: httpx.Client, people: People, visits: list[str], clean: Backend
) -> None:
    signed_in(browser, "dr-wang")
    forged = browser.post(
        f"/app/appointments/{visits[0]}/status",
        data={"csrf_token": "x", "status": "arrived"},
        headers={"Origin": origin_of(browser)},
    )
    assert forged.status_code == 403
    for status in ("cancelled", "booked", "entered-in-error", ""):
        assert mark(browser, clean, visits[0], status).status_code == 404
    assert mark(browser, clean, "..%2Fnope", "arrived").status_code == 404
    assert "Booked" in day_page(browser)


def test_a_doctor_cannot_mark_another_doctors_visit(
    browser: httpx.Client, client: httpx.Client, people: People, acting_as: Open, clean: Backend
) -> None:
    other_doctor = client.post(
        "/Practitioner",
        json={"resourceType": "Practitioner", "name": [{"family": "Chen"}]},
        headers={"Content-Type": "application/fhir+json"},
    ).json()["id"]
    schedule_id = doctors_schedule(client, other_doctor, "南区医院")
    [theirs] = book_visits(client, acting_as, schedule_id, [people.citizen], day_after_tomorrow())
    signed_in(browser, "dr-wang")
    assert mark(browser, clean, theirs, "arrived").status_code == 404
    assert 'class="card"' not in day_page(browser)


def test_a_doctor_reads_the_results_of_a_patient_in_their_care_only(
    browser: httpx.Client, client: httpx.Client, people: People, acting_as: Open, visits: list[str]
) -> None:
    push_results(client, acting_as, "m-1", "R-1")
    stranger = client.post(
        "/Patient",
        json={
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:1.2.246.21", "value": "s-9"}],
        },
        headers={"Content-Type": "application/fhir+json"},
    ).json()["id"]
    push_results(client, acting_as, "s-9", "R-9")
    signed_in(browser, "dr-wang")
    mine = browser.get(f"/app/patients/{people.citizen}/results", headers=EN)
    assert mine.status_code == 200
    assert mine.text.count('class="card"') == 1
    assert ">New<" not in mine.text
    report_id = mine.text.split('href="/app/results/', 1)[1].split('"', 1)[0]
    report = browser.get(f"/app/results/{report_id}", headers=EN)
    assert "Creatinine" in report.text
    theirs = browser.get(f"/app/patients/{stranger}/results", headers=EN)
    assert 'class="card"' not in theirs.text
    assert "not in your care" in theirs.text


def test_the_doctors_pages_are_for_doctors(browser: httpx.Client, people: People) -> None:
    assert browser.get("/app/day", headers=EN).status_code == 401
    signed_in(browser, "mei")
    assert browser.get("/app/day", headers=EN).status_code == 404
    assert browser.get(f"/app/patients/{people.other}/results", headers=EN).status_code == 404
    signed_in(browser, "dr-wang")
    for hostile in ("not-a-day", "0001-01-01", "9999-12-31", "2026-02-30", "2026-1-1x"):
        assert browser.get("/app/day", params={"date": hostile}).status_code == 404


def test_a_doctor_sees_the_week_by_day(
    browser: httpx.Client, people: People, visits: list[str]
) -> None:
    signed_in(browser, "dr-wang")
    day = day_after_tomorrow().date()
    week = browser.get("/app/week", params={"date": day.isoformat()}, headers=EN)
    assert week.status_code == 200, week.text
    assert week.text.count("<h2>") == 7
    assert week.text.count('class="card"') == 2
    assert "2 appointments" in week.text
    assert f'href="/app/day?date={day.isoformat()}"' in week.text
    assert f'href="/app/patients/{people.citizen}/results"' in week.text
    assert "Next week" in week.text
    later = browser.get(
        "/app/week", params={"date": (day + timedelta(days=7)).isoformat()}, headers=EN
    )
    assert 'class="card"' not in later.text
    for hostile in ("not-a-day", "2026-13-01", "0000-01-01", "9999-12-31"):
        assert browser.get("/app/week", params={"date": hostile}).status_code == 404
    browser.cookies.clear()
    signed_in(browser, "mei")
    assert browser.get("/app/week", headers=EN).status_code == 404


def test_a_visit_changed_meanwhile_is_not_marked_and_says_so(
    browser: httpx.Client, client: httpx.Client, people: People, visits: list[str], clean: Backend
) -> None:
    signed_in(browser, "dr-wang")
    seen = re.search(
        rf'action="/app/appointments/{visits[0]}/status">.*?name="version" value="(\d+)"',
        day_page(browser),
        re.DOTALL,
    )
    assert seen is not None
    changed = client.patch(
        f"/Appointment/{visits[0]}",
        json=[{"op": "add", "path": "/comment", "value": "Moved to room 3"}],
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert changed.status_code == 200, changed.text
    refused = mark(browser, clean, visits[0], "arrived", version=seen.group(1))
    assert refused.status_code == 409
    assert "未更改" in refused.text  # "Not changed", in the default language
    assert client.get(f"/Appointment/{visits[0]}").json()["status"] == "booked"
    current = client.get(f"/Appointment/{visits[0]}").json()["meta"]["versionId"]
    assert mark(browser, clean, visits[0], "arrived", version=current).status_code == 303
    assert client.get(f"/Appointment/{visits[0]}").json()["status"] == "arrived"
