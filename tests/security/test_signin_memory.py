"""Choosing again whom an app acts for: the app's authorization request with
prompt=select_account, from the browser that signed the person in to that app, goes straight
to the patient picker while the grant of that sign-in is alive; anything else gets the sign-in
form. Over HTTP, on both databases."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from medsvc import clock
from medsvc.security import account_admin, accounts
from tests.access.test_proxies import SCOPE, Family, choose, picker, tokens_for
from tests.conftest import Backend
from tests.security.conftest import App, acting_as, app, fhir_base, http

__all__ = ["acting_as", "app", "fhir_base", "http"]

AGAIN = {"prompt": "select_account"}


@pytest.fixture
def family(client: httpx.Client, clean: Backend) -> Family:
    return Family(client, clean)


def again(app: App, **changes: str) -> httpx.Response:
    return app.http.get(
        "/auth/authorize", params=app.params(**{"scope": SCOPE, **AGAIN, **changes})
    )


def is_form(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'name="password"' in response.text


def to_picker(response: httpx.Response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["location"]).path == (
        "/auth/choose"
    )


def test_the_browser_that_signed_in_chooses_again_without_the_password(
    app: App, family: Family
) -> None:
    proxy_id = family.add(family.child)
    first = tokens_for(app, proxy_id)
    assert first["patient"] == family.child
    asked = again(app)
    assert to_picker(asked), asked.text
    page = app.http.get(asked.headers["location"])
    assert "王小明" in page.text
    chosen = choose(app, page, "myself")
    assert chosen.status_code == 302, chosen.text
    code = parse_qs(urlsplit(chosen.headers["location"]).query)["code"][0]
    second = app.exchange(code)
    assert second.status_code == 200, second.text
    assert second.json()["patient"] == family.parent
    # The new grant is remembered in turn: the person can switch back.
    assert to_picker(again(app))


def test_without_the_prompt_the_form_is_shown(app: App, family: Family) -> None:
    tokens_for(app, family.add(family.child))
    assert is_form(app.http.get("/auth/authorize", params=app.params(scope=SCOPE)))
    assert is_form(again(app, prompt="login"))
    assert is_form(again(app, prompt="none"))


def test_another_browser_or_another_app_gets_the_form(
    app: App, family: Family, http: httpx.Client, clean: Backend, fhir_base: str
) -> None:
    tokens_for(app, family.add(family.child))
    with httpx.Client(base_url=http.base_url, timeout=30) as stranger:
        stranger_app = App(stranger, clean, fhir_base)
        stranger_app.client_id = app.client_id
        assert is_form(again(stranger_app))
        stolen = app.http.cookies.get("medsvc_signin", path="/auth")
        assert stolen  # the same cookie name with another value is no use either
        stranger.cookies.set("medsvc_signin", stolen[:-2] + "xx", path="/auth")
        assert is_form(again(stranger_app))
    other_app = App(app.http, clean, fhir_base)  # the same browser, another registered app
    assert is_form(again(other_app))


def test_once_the_grant_is_revoked_the_password_is_asked_again(app: App, family: Family) -> None:
    body = tokens_for(app, family.add(family.child))
    revoked = app.http.post(
        "/auth/revoke", data={"token": body["refresh_token"], "client_id": app.client_id}
    )
    assert revoked.status_code == 200, revoked.text
    assert is_form(again(app))


def test_a_disabled_account_or_an_old_sign_in_gets_the_form(
    app: App, family: Family, clean: Backend
) -> None:
    tokens_for(app, family.add(family.child))
    later = clock.now() + timedelta(hours=12, minutes=1)
    clock.set_source(lambda: later)
    assert is_form(again(app))
    clock.reset()
    assert to_picker(again(app))
    with clean.database.session(write=True) as connection:
        account = accounts.find_account(connection, "mei")
        assert account is not None
        account_admin.disable(connection, account, clock.now())
    assert is_form(again(app))


def test_a_person_who_acts_for_no_one_else_is_sent_back_with_a_code(
    app: App, family: Family
) -> None:
    proxy_id = family.add(family.child)
    tokens_for(app, "myself")
    family.revoke(proxy_id)  # the grant chose "myself": it stays alive
    asked = again(app)
    assert asked.status_code == 302, asked.text
    query = parse_qs(urlsplit(asked.headers["location"]).query)
    assert query["state"] == ["s-123"]
    assert app.exchange(query["code"][0]).json()["patient"] == family.parent


def test_a_sign_in_without_a_patient_context_is_not_remembered(app: App, family: Family) -> None:
    family.add(family.child)
    code = app.code("mei", scope="openid fhirUser patient/*.rs")
    assert app.exchange(code).status_code == 200
    assert is_form(again(app, scope="openid fhirUser patient/*.rs"))
    assert picker(app).status_code == 200  # a sign-in with launch/patient shows the picker
