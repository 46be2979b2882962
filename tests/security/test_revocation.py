"""Revocation and introspection: a revoked token stops working on every process, a caller
learns only about its own tokens, and the token endpoints are rate limited."""

import time

import httpx

from medsvc.app import create_app
from medsvc.security.revocation import REREAD_SECONDS
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.security.conftest import GRANTED_BY_DEFAULT, App


def post(app: App, path: str, **form: str) -> httpx.Response:
    return app.http.post(path, data={"client_id": app.client_id, **form})


def test_a_revoked_access_token_is_refused_by_every_process(
    app: App, citizen: str, clean: Backend, fhir_base: str
) -> None:
    token = app.exchange(app.code("aino")).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    port = free_port()
    other = create_app(make_settings(clean.url, port, base_url=fhir_base), clean.database)
    with LiveServer(other, port) as second, httpx.Client(base_url=second.url) as second_http:
        # Another process of the same deployment: same base URL and keys, its own view of
        # the revocations.
        assert second_http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code == 200
        assert app.http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code == 200
        assert post(app, "/auth/revoke", token=token).status_code == 200
        refused = app.http.get(f"/fhir/Patient/{citizen}", headers=bearer)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        time.sleep(REREAD_SECONDS + 0.2)
        assert second_http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code == 401
    assert post(app, "/auth/introspect", token=token).json() == {"active": False}


def test_revoking_a_refresh_token_revokes_its_family(app: App, citizen: str) -> None:
    issued = app.exchange(app.code("aino")).json()
    refresh = issued["refresh_token"]
    assert post(app, "/auth/introspect", token=refresh).json()["active"] is True
    assert (
        post(app, "/auth/revoke", token=refresh, token_type_hint="refresh_token").status_code == 200
    )
    assert post(app, "/auth/introspect", token=refresh).json() == {"active": False}
    refused = post(app, "/auth/token", grant_type="refresh_token", refresh_token=refresh)
    assert refused.json()["error"] == "invalid_grant"


def works(app: App, token: str, citizen: str) -> int:
    """The status of a read of the citizen's record with the access token."""
    bearer = {"Authorization": f"Bearer {token}"}
    return app.http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code


def refresh(app: App, token: str) -> httpx.Response:
    return post(app, "/auth/token", grant_type="refresh_token", refresh_token=token)


def test_revoking_a_refresh_token_ends_its_grants_access_tokens_at_once(
    app: App, citizen: str
) -> None:
    first = app.exchange(app.code("aino")).json()
    renewed = refresh(app, first["refresh_token"]).json()
    other_grant = app.exchange(app.code("aino")).json()  # another sign-in: another grant
    assert works(app, first["access_token"], citizen) == 200
    assert post(app, "/auth/revoke", token=renewed["refresh_token"]).status_code == 200
    assert works(app, first["access_token"], citizen) == 401
    assert works(app, renewed["access_token"], citizen) == 401
    assert post(app, "/auth/introspect", token=renewed["access_token"]).json() == {"active": False}
    assert works(app, other_grant["access_token"], citizen) == 200
    assert refresh(app, other_grant["refresh_token"]).status_code == 200


def test_a_replayed_code_ends_the_access_tokens_it_gave(app: App, citizen: str) -> None:
    code = app.code("aino")
    issued = app.exchange(code).json()
    renewed = refresh(app, issued["refresh_token"]).json()
    assert works(app, issued["access_token"], citizen) == 200
    replayed = app.exchange(code)
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert works(app, issued["access_token"], citizen) == 401  # RFC 6749 section 4.1.2
    assert works(app, renewed["access_token"], citizen) == 401
    assert refresh(app, renewed["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_reused_refresh_token_ends_the_grants_access_tokens(
    app: App, citizen: str, clean: Backend, fhir_base: str
) -> None:
    issued = app.exchange(app.code("aino")).json()
    renewed = refresh(app, issued["refresh_token"]).json()
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    port = free_port()
    other = create_app(make_settings(clean.url, port, base_url=fhir_base), clean.database)
    with LiveServer(other, port) as second, httpx.Client(base_url=second.url) as second_http:
        assert second_http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code == 200
        reused = refresh(app, issued["refresh_token"])  # the rotated-away token, again
        assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
        assert works(app, issued["access_token"], citizen) == 401
        assert works(app, renewed["access_token"], citizen) == 401
        time.sleep(REREAD_SECONDS + 0.2)  # another process: at its next re-read
        assert second_http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code == 401
    assert refresh(app, renewed["refresh_token"]).json()["error"] == "invalid_grant"


def test_introspection_shows_only_the_callers_own_tokens(
    app: App, citizen: str, clean: Backend, fhir_base: str
) -> None:
    token = app.exchange(app.code("aino")).json()["access_token"]
    found = post(app, "/auth/introspect", token=token).json()
    assert found["active"] is True
    assert (found["patient"], found["client_id"], found["aud"]) == (
        citizen,
        app.client_id,
        fhir_base,
    )
    assert found["scope"] == GRANTED_BY_DEFAULT
    stranger = App(app.http, clean, fhir_base)
    assert post(stranger, "/auth/introspect", token=token).json() == {"active": False}
    assert post(stranger, "/auth/revoke", token=token).status_code == 200  # not theirs: no effect
    assert post(app, "/auth/introspect", token=token).json()["active"] is True
    assert post(app, "/auth/introspect", token="garbage").json() == {"active": False}
    assert post(app, "/auth/revoke", token="garbage").status_code == 200
    missing = post(app, "/auth/introspect")
    assert missing.json()["error"] == "invalid_request"
    unknown = app.http.post("/auth/introspect", data={"client_id": "nobody", "token": token})
    assert unknown.json()["error"] == "invalid_client"


def test_token_endpoints_and_sign_in_are_rate_limited(clean: Backend) -> None:
    port = free_port()
    settings = make_settings(clean.url, port, token_requests_per_minute=8)  # burst of 2
    app = create_app(settings, clean.database)
    with LiveServer(app, port) as server, httpx.Client(base_url=server.url) as http:
        answers = [http.post("/auth/token", data={"grant_type": "x"}) for _ in range(3)]
        sign_in = http.post("/auth/authorize", data={"username": "a", "password": "b"})
    assert [a.status_code for a in answers] == [400, 400, 429]
    assert answers[2].json()["error"] == "too_many_requests"
    assert int(answers[2].headers["retry-after"]) >= 1
    assert sign_in.status_code == 429  # the sign-in form shares the address's allowance
    assert int(sign_in.headers["retry-after"]) >= 1
