"""The app's pages over HTTP: what a visitor, a citizen and a doctor see, the headers every
page carries, the language chosen, and what the app refuses."""

import httpx
import pytest

from tests.scheduling.clinic import (
    Open,
    add_slots,
    booked,
    citizen_context,
    open_clinic,
    parameters,
)
from tests.web.conftest import People, signed_in

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def test_a_visitor_is_welcomed_with_the_sign_in_in_chinese_by_default(
    browser: httpx.Client, people: People
) -> None:
    page = browser.get("/app/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "预约挂号" in page.text
    assert 'href="/app/signin"' in page.text
    assert browser.get("/app", follow_redirects=False).headers["location"].endswith("/app/")


def test_every_page_forbids_inline_script_framing_and_caching(
    browser: httpx.Client, people: People
) -> None:
    for path in ("/app/", "/app/callback?state=x&code=y"):
        page = browser.get(path)
        assert page.headers["content-security-policy"] == CSP
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in page.text
        assert "style=" not in page.text
    signed_in(browser, "mei")
    home = browser.get("/app/")
    assert home.headers["content-security-policy"] == CSP
    assert home.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("header", "lang", "words"),
    [
        ("en-GB,en;q=0.9", "en", "Book hospital appointments"),
        ("zh-TW,zh;q=0.9,en;q=0.5", "zh-CN", "预约挂号"),
        ("fr-FR, en;q=0.3", "en", "Book hospital appointments"),
        ("en;q=0, de", "zh-CN", "预约挂号"),
        ("en;q=abc, zh", "zh-CN", "预约挂号"),
        ("", "zh-CN", "预约挂号"),
    ],
)
def test_without_a_choice_the_language_follows_accept_language(
    browser: httpx.Client, people: People, header: str, lang: str, words: str
) -> None:
    page = browser.get("/app/", headers={"Accept-Language": header})
    assert f'<html lang="{lang}">' in page.text
    assert words in page.text


def test_the_chosen_language_is_remembered_over_accept_language(
    browser: httpx.Client, people: People
) -> None:
    chosen = browser.get("/app/language", params={"to": "en", "next": "/app/"})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/app/"
    assert "httponly" in chosen.headers["set-cookie"].lower()
    page = browser.get("/app/", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page.text
    browser.get("/app/language", params={"to": "zh", "next": "/app/"})
    assert "预约挂号" in browser.get("/app/", headers={"Accept-Language": "en"}).text


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/app/",
        "/\\evil.example",
        "/app/..//evil.example",
        "/app/../../auth/authorize",
        "/fhir/Patient",
        "javascript:alert(1)",
        "/app/%0d%0aSet-Cookie:x=y",
        "/auth/authorizex",
        "/auth/token",
        "/auth/authorize?x=<script>",
        "",
    ],
)
def test_the_language_switch_returns_only_to_the_apps_own_pages(
    browser: httpx.Client, people: People, target: str
) -> None:
    chosen = browser.get("/app/language", params={"to": "en", "next": target})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/app/"


def test_an_unknown_language_changes_nothing(browser: httpx.Client, people: People) -> None:
    chosen = browser.get("/app/language", params={"to": "xx", "next": "/app/"})
    assert "set-cookie" not in chosen.headers
    assert '<html lang="zh-CN">' in browser.get("/app/").text


def test_a_citizen_sees_their_coming_appointments_and_no_one_elses(
    browser: httpx.Client, client: httpx.Client, people: People, acting_as: Open
) -> None:
    clinic = open_clinic(client, "North")
    mine, theirs = add_slots(client, clinic.schedule, 2)
    me = acting_as(citizen_context(people.citizen))
    booked(me.post("/Appointment/$book", json=parameters(slot=f"Slot/{mine}")))
    other = acting_as(citizen_context(people.other))
    booked(other.post("/Appointment/$book", json=parameters(slot=f"Slot/{theirs}")))
    signed_in(browser, "mei")
    page = browser.get("/app/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert page.text.count('class="card"') == 1
    assert "North outpatients" in page.text
    assert "Korhonen" in page.text or "Wang" in page.text
    assert "China Standard Time" in page.text or "Coordinated Universal Time" in page.text


def test_a_doctor_signs_in_to_their_day(browser: httpx.Client, people: People) -> None:
    signed_in(browser, "dr-wang")
    page = browser.get("/app/", headers={"Accept-Language": "en"})
    assert "<h1>Your day" in page.text
    assert 'action="/app/signout"' in page.text


def test_static_files_are_served_and_nothing_outside_them(
    browser: httpx.Client, people: People
) -> None:
    css = browser.get("/app/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    for path in ("/app/static/../tables.py", "/app/static/%2e%2e/tables.py", "/app/static/"):
        assert browser.get(path).status_code == 404


def test_the_sign_in_page_speaks_the_persons_language_and_keeps_its_request(
    browser: httpx.Client, people: People
) -> None:
    start = browser.get("/app/signin")
    form = browser.get(start.headers["location"])
    assert form.status_code == 200
    assert '<html lang="zh-CN">' in form.text
    assert "用户名" in form.text
    assert form.headers["content-security-policy"] == CSP
    assert form.headers["x-frame-options"] == "DENY"
    here = start.headers["location"]
    switched = browser.get("/app/language", params={"to": "en", "next": here})
    assert switched.headers["location"] == here
    english = browser.get(here)
    assert '<html lang="en">' in english.text
    assert "Mobile number or username" in english.text
