"""The authorization-code flow against a running server, as a phone app drives it: the
sign-in page, PKCE, codes, refresh rotation, throttling and one-time codes."""

import re
import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import update

from medsvc import clock
from medsvc.security.signin import GENERIC_FAILURE
from medsvc.security.tables import Account
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient
from tests.security.conftest import GRANTED_BY_DEFAULT, REDIRECT, App, add_person, challenge_of


def test_sign_in_page_is_a_form_that_cannot_be_framed(app: App, citizen: str) -> None:
    page = app.http.get("/auth/authorize", params=app.params())
    assert page.status_code == 200
    for field in ("username", "password", "otp"):
        assert f'name="{field}"' in page.text
    assert f'value="{app.client_id}"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_citizen_gets_tokens_with_patient_context(app: App, citizen: str, fhir_base: str) -> None:
    response = app.exchange(app.code("Aino"))
    assert response.status_code == 200, response.text
    assert (response.headers["cache-control"], response.headers["pragma"]) == (
        "no-store",
        "no-cache",
    )
    issued = response.json()
    assert issued["patient"] == citizen
    assert issued["fhirUser"] == f"{fhir_base}/Patient/{citizen}"
    assert issued["scope"] == GRANTED_BY_DEFAULT
    assert (issued["token_type"], issued["expires_in"]) == ("Bearer", 3600)
    keys = KeySet.import_key_set(app.http.get("/auth/jwks").json())
    identity = jwt.decode(issued["id_token"], keys).claims
    assert identity["fhirUser"] == f"{fhir_base}/Patient/{citizen}"
    assert (identity["aud"], identity["nonce"]) == (app.client_id, "n-1")
    access = jwt.decode(issued["access_token"], keys).claims
    assert (access["patient"], access["aud"], access["client_id"]) == (
        citizen,
        fhir_base,
        app.client_id,
    )
    assert len(issued["refresh_token"]) >= 43


def test_practitioner_gets_no_patient_scopes(
    client: httpx.Client, app: App, clean: Backend
) -> None:
    doctor = client.post(
        "/Practitioner", json={"resourceType": "Practitioner"}, headers=FHIR_JSON
    ).json()["id"]
    add_person(clean, "practitioner", "dr", f"Practitioner/{doctor}")
    scope = "launch/patient openid fhirUser patient/*.rs user/Appointment.rs"
    issued = app.exchange(app.code("dr", scope=scope)).json()
    assert issued["scope"] == "openid fhirUser user/Appointment.rs"
    assert "patient" not in issued
    only_patient = app.sign_in("dr", scope="patient/*.rs")
    assert parse_qs(urlsplit(only_patient.headers["location"]).query)["error"] == ["invalid_scope"]


@pytest.mark.parametrize(
    ("name", "verifier"),
    [("missing", None), ("blank", " "), ("wrong", "x" * 50), ("the challenge", "challenge")],
)
def test_pkce_failures_are_invalid_grant(app: App, citizen: str, name: str, verifier: str) -> None:
    code = app.code("aino")
    if verifier == "challenge":
        verifier = challenge_of(app.verifier)
    response = app.exchange(code, verifier)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant"), name
    assert app.exchange(code).status_code == 200  # the code was not spent by the failures


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
        ({"aud": "https://other.example/fhir"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": ""}, "invalid_scope"),
        ({"scope": "patient/Observation.zz"}, "invalid_scope"),
    ],
)
def test_bad_requests_return_to_the_app_with_an_error(app: App, changes: dict, error: str) -> None:
    response = app.http.get("/auth/authorize", params=app.params(**changes))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert (query["error"], query["state"]) == ([error], ["s-123"])


@pytest.mark.parametrize(
    "changes", [{"client_id": "unknown"}, {"redirect_uri": "http://127.0.0.1:9/other"}]
)
def test_unknown_client_or_redirect_never_redirects(app: App, changes: dict) -> None:
    response = app.http.get("/auth/authorize", params=app.params(**changes))
    assert response.status_code == 400
    assert "location" not in response.headers


def test_a_code_is_single_use_and_its_reuse_revokes_what_it_gave(app: App, citizen: str) -> None:
    code = app.code("aino")
    first = app.exchange(code).json()
    replay = app.exchange(code)
    assert replay.json()["error"] == "invalid_grant"
    refreshed = app.http.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_code_exchanged_concurrently_serves_once(app: App, citizen: str) -> None:
    code = app.code("aino")
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(app.exchange(code).status_code))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7


def test_codes_expire_and_bind_their_redirect(app: App, citizen: str) -> None:
    wrong = app.exchange(app.code("aino"), redirect_uri="http://127.0.0.1:9/other")
    assert wrong.json()["error"] == "invalid_grant"
    code = app.code("aino")
    later = clock.now() + timedelta(seconds=61)
    clock.set_source(lambda: later)
    assert app.exchange(code).json()["error"] == "invalid_grant"


def refresh(app: App, token: str, **extra: str) -> httpx.Response:
    return app.http.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": app.client_id,
            **extra,
        },
    )


def test_refresh_rotates_and_reuse_revokes_the_family(app: App, citizen: str) -> None:
    first = app.exchange(app.code("aino")).json()
    second = refresh(app, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    assert rotated["scope"] == first["scope"]
    assert refresh(app, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert refresh(app, rotated["refresh_token"]).json()["error"] == "invalid_grant"


def test_refresh_may_narrow_but_not_widen(app: App, citizen: str) -> None:
    first = app.exchange(app.code("aino")).json()
    narrowed = refresh(app, first["refresh_token"], scope="patient/Observation.rs")
    assert narrowed.json()["scope"] == "patient/Observation.rs"
    widened = refresh(app, narrowed.json()["refresh_token"], scope="patient/*.cruds")
    assert widened.json()["error"] == "invalid_scope"


def test_confidential_app_authenticates(
    http: httpx.Client, clean: Backend, fhir_base: str, citizen: str
) -> None:
    app = App(http, clean, fhir_base, confidential=True)
    assert app.secret is not None
    no_secret = app.exchange(app.code("aino"))
    assert no_secret.json()["error"] == "invalid_client"
    code = app.code("aino")
    wrong = app.http.post(
        "/auth/token",
        auth=(app.client_id, "wrong"),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": app.verifier,
        },
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert wrong.headers["www-authenticate"].startswith("Basic")
    right = app.http.post(
        "/auth/token",
        auth=(app.client_id, app.secret),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": app.verifier,
        },
    )
    assert right.status_code == 200, right.text


def test_wrong_password_and_unknown_user_look_the_same(app: App, citizen: str) -> None:
    wrong = app.sign_in("aino", password="not the passphrase")
    unknown = app.sign_in("nobody")
    assert wrong.status_code == unknown.status_code == 200
    assert GENERIC_FAILURE in wrong.text
    assert wrong.text == unknown.text
    assert "location" not in wrong.headers


def test_one_time_codes_are_required_and_spent_once(app: App, citizen: str, clean: Backend) -> None:
    secret = pyotp.random_base32(length=32)
    with clean.database.session(write=True) as connection:
        connection.execute(update(Account).values(totp_secret=secret))
    otp = pyotp.TOTP(secret).at(clock.now())
    assert app.sign_in("aino").status_code == 200
    assert app.sign_in("aino", otp="000000" if otp != "000000" else "111111").status_code == 200
    assert app.sign_in("aino", otp=otp).status_code == 302
    assert app.sign_in("aino", otp=otp).status_code == 200  # the same code again
    next_step = clock.now() + timedelta(seconds=30)
    assert app.sign_in("aino", otp=pyotp.TOTP(secret).at(next_step)).status_code == 302


def test_citizen_token_reaches_their_own_record_only(
    app: App, citizen: str, client: httpx.Client
) -> None:
    other = client.post("/Patient", json=patient("2"), headers=FHIR_JSON).json()["id"]
    token = app.exchange(app.code("aino")).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.http.get(f"/fhir/Patient/{citizen}", headers=bearer).json()["id"] == citizen
    assert app.http.get(f"/fhir/Patient/{other}", headers=bearer).status_code == 404


def test_discovery_names_the_authorize_endpoint(app: App) -> None:
    config = app.http.get("/fhir/.well-known/smart-configuration").json()
    assert config["authorization_endpoint"].endswith("/auth/authorize")
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert re.match(r"^http://127\.0\.0\.1:\d+/auth$", config["issuer"])
