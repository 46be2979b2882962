"""Signing in to the app through this server's authorization endpoint (code + PKCE, the app
a confidential client), the session that keeps the tokens server-side, and signing out."""

from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from medsvc import clock
from medsvc.security.tables import RevokedGrant
from medsvc.web import client, sessions
from medsvc.web.tables import WebSession
from tests.conftest import Backend
from tests.web.conftest import People, finish_sign_in, origin_of, sign_in, signed_in


def cookie_of(browser: httpx.Client) -> str:
    return str(browser.cookies.get("medsvc_session"))


def session_of(backend: Backend, cookie: str) -> sessions.Session | None:
    with backend.database.session(write=False) as connection:
        return sessions.find(connection, cookie, clock.now())


def test_sign_in_asks_the_authorization_endpoint_for_a_code_with_pkce(
    browser: httpx.Client, people: People
) -> None:
    start = browser.get("/app/signin")
    assert start.status_code == 303
    location = urlsplit(start.headers["location"])
    assert location.path == "/auth/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == f"{origin_of(browser)}/app/callback"
    assert "online_access" in query["scope"].split()
    assert "verifier" not in start.headers["location"]


def test_the_session_cookie_is_opaque_http_only_and_same_site(
    browser: httpx.Client, people: People
) -> None:
    done = sign_in(browser, "mei")
    header = done.headers["set-cookie"]
    cookie = SimpleCookie(header)["medsvc_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert "." not in cookie.value  # no JWT, nothing a script could read a claim from
    home = browser.get("/app/")
    assert home.status_code == 200
    assert "token" not in home.text.lower().replace("csrf_token", "")


def test_the_cookie_changes_at_sign_in_and_the_earlier_one_is_worth_nothing(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    start = browser.get("/app/signin")
    signing_in = cookie_of(browser)
    assert session_of(clean, signing_in) is not None
    assert finish_sign_in(browser, start, "mei").status_code == 303
    assert cookie_of(browser) != signing_in
    assert session_of(clean, signing_in) is None
    session = session_of(clean, cookie_of(browser))
    assert session is not None
    assert session.fhir_user == f"Patient/{people.citizen}"


def test_tokens_are_kept_sealed_and_open_only_with_the_cookie(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "mei")
    cookie = cookie_of(browser)
    with clean.database.session(write=False) as connection:
        row = connection.execute(select(WebSession)).one()
        assert cookie not in row.id_hash
        assert b"eyJ" not in row.sealed  # no JWT in the clear
        forged = sessions.find(connection, cookie[:-2] + "xx", clock.now())
    assert forged is None
    opened = session_of(clean, cookie)
    assert opened is not None
    assert opened.secrets["access_token"].startswith("eyJ")


@pytest.mark.parametrize("state", ["", "other", "x" * 2000], ids=["missing", "other", "long"])
def test_a_callback_that_is_not_this_browsers_sign_in_is_refused(
    browser: httpx.Client, people: People, state: str
) -> None:
    browser.get("/app/signin")
    answer = browser.get("/app/callback", params={"code": "c", "state": state})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "medsvc_session" not in answer.headers.get("set-cookie", "")


def test_a_callback_without_a_sign_in_or_with_an_error_is_refused(
    browser: httpx.Client, people: People
) -> None:
    assert browser.get("/app/callback", params={"code": "c", "state": "s"}).status_code == 400
    start = browser.get("/app/signin")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    refused = browser.get("/app/callback", params={"error": "access_denied", "state": state})
    assert refused.status_code == 400
    stolen = browser.get("/app/callback", params={"code": "not-a-code", "state": state})
    assert stolen.status_code == 400


def test_sign_out_needs_the_sessions_form_token_and_revokes_the_grant(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "mei")
    cookie = cookie_of(browser)
    session = session_of(clean, cookie)
    assert session is not None
    origin = {"Origin": origin_of(browser)}
    for token in ("", "wrong", session.csrf + "x"):
        forged = browser.post("/app/signout", data={"csrf_token": token}, headers=origin)
        assert forged.status_code == 403
    foreign = browser.post(
        "/app/signout",
        data={"csrf_token": session.csrf},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert session_of(clean, cookie) is not None
    out = browser.post("/app/signout", data={"csrf_token": session.csrf}, headers=origin)
    assert out.status_code == 303
    assert session_of(clean, cookie) is None
    with clean.database.session(write=False) as connection:
        assert connection.execute(select(RevokedGrant)).first() is not None
    # The access token the session held is refused by the API from now on.
    api = httpx.get(
        f"{origin_of(browser)}/fhir/Patient/{people.citizen}",
        headers={"Authorization": f"Bearer {session.secrets['access_token']}"},
    )
    assert api.status_code == 401
    assert "Sign in" in browser.get("/app/").text or "登录" in browser.get("/app/").text


def _stale(backend: Backend, cookie: str) -> sessions.Session:
    session = session_of(backend, cookie)
    assert session is not None
    with backend.database.session(write=True) as connection:
        sessions.store_tokens(connection, cookie, {**session.secrets, "access_expires": 0})
    return session


def test_an_expired_access_token_is_refreshed_once_for_concurrent_pages(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "mei")
    cookie = cookie_of(browser)
    before = _stale(clean, cookie)

    def page(_: int) -> int:
        with httpx.Client(
            base_url=str(browser.base_url), cookies={"medsvc_session": cookie}, timeout=30
        ) as client:
            return client.get("/app/").status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(page, range(8))) == [200] * 8
    after = session_of(clean, cookie)
    assert after is not None
    assert after.secrets["access_token"] != before.secrets["access_token"]
    assert after.secrets["refresh_token"] != before.secrets["refresh_token"]
    with clean.database.session(write=False) as connection:
        assert connection.execute(select(RevokedGrant)).first() is None  # no reuse detected


def test_a_session_whose_grant_was_revoked_is_signed_out(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "mei")
    cookie = cookie_of(browser)
    session = _stale(clean, cookie)
    revoked = httpx.post(
        f"{origin_of(browser)}/auth/revoke",
        data={"token": session.secrets["refresh_token"]},
        auth=_app_credentials(clean),
    )
    assert revoked.status_code == 200
    page = browser.get("/app/")
    assert page.status_code == 200
    assert "/app/signin" in page.text
    assert session_of(clean, cookie) is None


def _app_credentials(backend: Backend) -> tuple[str, str]:
    app_client = client.load(backend.settings.keys_dir, backend.settings.base_url)
    return app_client.client_id, app_client.secret


def test_expired_sessions_are_deleted_by_the_job(
    browser: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "mei")
    browser.get("/app/signin")  # a second, unfinished sign-in
    later = clock.now() + sessions.SIGNED_IN
    with clean.database.session(write=True) as connection:
        assert sessions.delete_expired(connection, clock.now()) == 0
        assert sessions.delete_expired(connection, later) == 2
