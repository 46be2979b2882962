"""A parent in the app: after signing in, the server's patient picker asks whom the app acts
for; the app then shows the child's record and says whose it is, with a way to switch."""

from datetime import date
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlmodel import col

from medsvc import clock
from medsvc.access import proxies
from medsvc.assembly import fhir_server
from medsvc.audit import trail
from medsvc.security.tables import RefreshToken
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.security.conftest import PASSWORD, form_fields
from tests.web.conftest import People, origin_of, signed_in


def child_of_mei(client: httpx.Client, clean: Backend, people: People) -> tuple[str, str]:
    born = date(clock.now().year - 6, 5, 1).isoformat()
    made = client.post(
        "/Patient",
        json={
            "resourceType": "Patient",
            "name": [{"family": "李", "given": ["小梅"]}],
            "birthDate": born,
        },
        headers=FHIR_JSON,
    )
    child = str(made.json()["id"])
    proposal = proxies.NewProxy(child, people.citizen, "MTH", proxies.GUARDIAN, "operator")
    with clean.database.session(write=True) as session:
        made_proxy = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), clock.now()
        )
    return child, made_proxy.id


def sign_in_to_picker(browser: httpx.Client) -> httpx.Response:
    start = browser.get("/app/signin")
    form = browser.get(start.headers["location"])
    typed = {"username": "mei", "password": PASSWORD, "otp": ""}
    posted = browser.post(
        "/auth/authorize",
        data={**form_fields(form.text), **typed},
        headers={"Origin": origin_of(browser)},
    )
    assert posted.status_code == 302, posted.text
    assert urlsplit(posted.headers["location"]).path == "/auth/choose"
    return browser.get(posted.headers["location"])


def pick(browser: httpx.Client, picker: httpx.Response, value: str) -> httpx.Response:
    chosen = browser.post(
        "/auth/choose",
        data={**form_fields(picker.text), "patient": value},
        headers={"Origin": origin_of(browser)},
    )
    assert chosen.status_code == 302, chosen.text
    back = browser.get(chosen.headers["location"])
    assert back.headers["location"] == "/app/"
    return browser.get("/app/")


def test_a_parent_acting_for_their_child_sees_whose_record_it_is(
    browser: httpx.Client, people: People, client: httpx.Client, clean: Backend
) -> None:
    _child, proxy_id = child_of_mei(client, clean, people)
    picker = sign_in_to_picker(browser)
    assert "李小梅" in picker.text
    home = pick(browser, picker, proxy_id)
    assert home.status_code == 200
    assert "李小梅" in home.text
    assert 'href="/app/switch"' in home.text  # the way to act for someone else


def test_a_parent_acting_for_themselves_sees_no_banner(
    browser: httpx.Client, people: People, client: httpx.Client, clean: Backend
) -> None:
    child_of_mei(client, clean, people)
    home = pick(browser, sign_in_to_picker(browser), "myself")
    assert home.status_code == 200
    assert "李小梅" not in home.text


def test_a_person_sees_who_may_act_for_them_and_stops_it(
    browser: httpx.Client, people: People, client: httpx.Client, clean: Backend
) -> None:
    """Lei consented that Mei acts for him; in the app he sees it, and ends it."""
    proposal = proxies.NewProxy(people.other, people.citizen, "SPS", proxies.CONSENTED, "hospital")
    with clean.database.session(write=True) as session:
        proxy = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), clock.now()
        )
    signed_in(browser, "lei")
    listed = browser.get("/app/proxies")
    assert listed.status_code == 200
    assert "李梅" in listed.text
    csrf = form_fields(listed.text)["csrf_token"]
    ended = browser.post(
        f"/app/proxies/{proxy.id}/end",
        data={"csrf_token": csrf},
        headers={"Origin": origin_of(browser)},
    )
    assert ended.status_code == 303, ended.text
    after = browser.get(ended.headers["location"])
    assert "李梅" not in after.text
    with clean.database.session(write=False) as session:
        found = proxies.found(session, proxy.id)
    assert found is not None
    assert found.revoked_at is not None


def test_ending_a_proxy_needs_the_page_s_form(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    proposal = proxies.NewProxy(people.other, people.citizen, "SPS", proxies.CONSENTED, "hospital")
    with clean.database.session(write=True) as session:
        proxy = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), clock.now()
        )
    signed_in(browser, "lei")
    forged = browser.post(f"/app/proxies/{proxy.id}/end", data={"csrf_token": "x"})
    assert forged.status_code == 403
    with clean.database.session(write=False) as session:
        found = proxies.found(session, proxy.id)
    assert found is not None
    assert found.revoked_at is None


def test_a_person_sees_what_their_proxy_did_for_them(
    browser: httpx.Client, people: People, client: httpx.Client, clean: Backend
) -> None:
    """Mei, acting for Lei, opens his appointments; Lei then sees it on his proxies page, and
    Mei acting for him does not see that list."""
    proposal = proxies.NewProxy(people.other, people.citizen, "SPS", proxies.CONSENTED, "hospital")
    with clean.database.session(write=True) as session:
        proxy = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), clock.now()
        )
    pick(browser, sign_in_to_picker(browser), proxy.id)
    english = {"Accept-Language": "en"}
    assert browser.get("/app/appointments").status_code == 200
    as_proxy = browser.get("/app/proxies", headers=english)
    assert as_proxy.status_code == 200
    assert "What they did for you" not in as_proxy.text
    browser.cookies.clear()
    trail.flush_all()
    signed_in(browser, "lei")
    listed = browser.get("/app/proxies", headers=english)
    assert listed.status_code == 200, listed.text
    activity = listed.text.split("What they did for you", 1)[1]
    assert "<strong>李梅</strong>: Searched · Appointments" in activity
    assert "Nobody has acted for you yet." not in activity


def test_a_person_nobody_acted_for_is_told_so(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "lei")
    listed = browser.get("/app/proxies", headers={"Accept-Language": "en"})
    assert "Nobody has acted for you yet." in listed.text


def test_a_parent_switches_to_themselves_without_their_password(
    browser: httpx.Client, people: People, client: httpx.Client, clean: Backend
) -> None:
    _child, proxy_id = child_of_mei(client, clean, people)
    pick(browser, sign_in_to_picker(browser), proxy_id)
    before = browser.cookies.get("medsvc_session")
    switching = browser.get("/app/switch")
    assert switching.status_code == 303, switching.text
    asked = browser.get(switching.headers["location"])
    assert asked.status_code == 302, asked.text  # no sign-in form: straight to the picker
    assert urlsplit(asked.headers["location"]).path == "/auth/choose"
    home = pick(browser, browser.get(asked.headers["location"]), "myself")
    assert home.status_code == 200
    assert "李小梅" not in home.text  # acting for herself again
    assert before
    assert browser.cookies.get("medsvc_session") != before
    with httpx.Client(base_url=browser.base_url, timeout=30) as old:
        old.cookies.set("medsvc_session", before, path="/")
        assert old.get("/app/results").status_code == 401  # the replaced session is ended
    with clean.database.session(write=False) as session:
        live = session.execute(
            select(RefreshToken.family).where(col(RefreshToken.revoked).is_(False)).distinct()
        ).all()
    assert len(live) == 1  # the replaced sign-in's grant is revoked


def test_switching_in_another_browser_asks_for_the_password(
    browser: httpx.Client, people: People, client: httpx.Client, clean: Backend
) -> None:
    child_of_mei(client, clean, people)
    with httpx.Client(base_url=browser.base_url, timeout=30) as elsewhere:
        switching = elsewhere.get("/app/switch")
        asked = elsewhere.get(switching.headers["location"])
        assert asked.status_code == 200
        assert 'name="password"' in asked.text
