"""The authorization server's forms and credentials refuse the NUL character (RFC 6749 JSON
errors, the sign-in page for a browser): no identifier holds one, and PostgreSQL cannot even
compare a text with one."""

import base64
from urllib.parse import urlencode

import httpx
import pytest

from tests.security.conftest import App

SPELLINGS = ["%00", "a%00", "%00%00", "a%00b"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize("path", ["/auth/token", "/auth/revoke", "/auth/introspect"])
def test_an_oauth_form_with_a_nul_is_an_invalid_request(
    http: httpx.Client, app: App, path: str
) -> None:
    for spelling in SPELLINGS:
        body = f"grant_type=authorization_code&token=x&client_id={spelling}"
        response = http.post(path, content=body, headers=FORM)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_basic_credentials_with_a_nul_are_an_invalid_client(
    http: httpx.Client, app: App, spelling: str
) -> None:
    basic = base64.b64encode(f"{app.client_id}{spelling}:secret".encode()).decode()
    response = http.post(
        "/auth/token",
        data={"grant_type": "refresh_token"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"


def test_a_sign_in_with_a_nul_gets_the_error_page(http: httpx.Client, app: App) -> None:
    params = {k: v for k, v in app.params().items() if k != "client_id"}
    for spelling in SPELLINGS:
        query = f"{urlencode(params)}&client_id={spelling}"
        shown = http.get(f"/auth/authorize?{query}")
        form = f"{query}&username=aino&password=x"
        posted = http.post("/auth/authorize", content=form, headers=FORM)
        for response in (shown, posted):
            assert response.status_code == 400, response.text
            assert response.headers["content-type"].startswith("text/html")
