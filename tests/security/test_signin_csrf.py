"""The sign-in form cannot be posted from another site, nor replayed into another browser or
another app's request: the form token, its HttpOnly cookie and the Origin check, over HTTP."""

import httpx
import pytest
from sqlalchemy import func, select

from medsvc.app import create_app
from medsvc.security.signin_csrf import COOKIE
from medsvc.security.tables import AuthorizationCode, SignInThrottle
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.security.conftest import PASSWORD, App

RELOAD = "Please reload the page and sign in again."


def origin_of(app: App) -> dict[str, str]:
    return {"Origin": str(app.http.base_url).rstrip("/")}


def post(app: App, form: dict[str, str], headers: dict[str, str]) -> httpx.Response:
    return app.http.post(
        "/auth/authorize",
        data={**form, "username": "aino", "password": PASSWORD},
        headers=headers,
    )


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 403
    assert RELOAD in response.text
    assert "location" not in response.headers


def test_the_page_sets_an_http_only_same_site_cookie(app: App, citizen: str) -> None:
    page = app.http.get("/auth/authorize", params=app.params())
    cookie = page.headers["set-cookie"].lower()
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("httponly", "samesite=lax", "path=/auth"):
        assert attribute in cookie
    assert "secure" not in cookie  # served over http here; see the https case below
    assert 'name="csrf_token"' in page.text
    assert page.headers["referrer-policy"] == "same-origin"  # "no-referrer" nulls Origin
    again = app.http.get("/auth/authorize", params=app.params())
    assert "set-cookie" not in again.headers or again.cookies.get(COOKIE) == page.cookies[COOKIE]


def test_the_cookie_is_secure_over_https(clean: Backend, app: App, citizen: str) -> None:
    port = free_port()
    base = f"https://medsvc.example:{port}/fhir"  # as a TLS-terminating proxy presents it
    server_app = create_app(make_settings(clean.url, port, base_url=base), clean.database)
    with LiveServer(server_app, port) as live, httpx.Client(base_url=live.url) as http:
        page = http.get("/auth/authorize", params=app.params(aud=base))
    assert page.status_code == 200, page.text
    assert "; secure" in page.headers["set-cookie"].lower()


def test_the_normal_flow_signs_in(app: App, citizen: str) -> None:
    assert app.sign_in("aino").status_code == 302


@pytest.mark.parametrize(
    "token",
    [None, "", "x", "A" * 43, "%00", "csrf_token"],
    ids=["missing", "empty", "short", "guessed", "nul", "name"],
)
def test_a_missing_or_wrong_token_is_refused(app: App, citizen: str, token: str | None) -> None:
    form = app.form()
    if token is None:
        del form["csrf_token"]
    else:
        form["csrf_token"] = token
    assert_refused(post(app, form, origin_of(app)))


def test_a_token_without_its_cookie_is_refused(app: App, citizen: str) -> None:
    form = app.form()
    app.http.cookies.clear()  # another browser: the attacker's page holds a token, not the cookie
    assert_refused(post(app, form, origin_of(app)))
    app.http.cookies.set(COOKIE, "A" * 43)  # a cookie the attacker chose (cookie injection)
    assert_refused(post(app, form, origin_of(app)))


def test_a_token_is_bound_to_its_authorization_request(app: App, citizen: str) -> None:
    form = app.form()
    for field, value in (
        ("redirect_uri", "http://127.0.0.1:9/other"),
        ("scope", "patient/*.cruds"),
    ):
        changed = {**form, field: value}
        assert_refused(post(app, changed, origin_of(app)))
    assert post(app, form, origin_of(app)).status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1"},  # this host, another port: another origin
        {"Origin": "http://127.0.0.1.evil.example"},
        {"Referer": "https://evil.example/page"},
        {"Referer": "null"},
    ],
    ids=["other-site", "null", "other-port", "suffix", "referer", "referer-null"],
)
def test_a_post_from_another_origin_is_refused(
    app: App, citizen: str, headers: dict[str, str]
) -> None:
    form = app.form()  # a valid token and cookie: only the origin is wrong
    assert_refused(post(app, form, headers))


def test_our_own_origin_and_referer_are_accepted(app: App, citizen: str) -> None:
    origin = origin_of(app)["Origin"]
    assert post(app, app.form(), {"Origin": origin.upper()}).status_code == 302
    referer = {"Referer": f"{origin}/auth/authorize?client_id=x"}
    assert post(app, app.form(), referer).status_code == 302


def test_a_refused_post_signs_nobody_in_and_counts_no_failure(
    app: App, citizen: str, clean: Backend
) -> None:
    for _ in range(10):
        assert_refused(post(app, {**app.form(), "csrf_token": "x"}, origin_of(app)))
    with clean.database.session(write=False) as connection:
        for table in (AuthorizationCode, SignInThrottle):
            count = select(func.count()).select_from(table)
            assert connection.execute(count).scalar_one() == 0
    assert app.sign_in("aino").status_code == 302
