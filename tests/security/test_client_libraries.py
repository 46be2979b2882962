"""Standard OAuth client code (Authlib's requests client) completes SMART Backend Services
and the authorization-code flow with PKCE against a running server, and the tokens work."""

import secrets
import time

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey

from medsvc import clock
from medsvc.security import clients
from tests.conftest import Backend, LiveServer
from tests.security.conftest import PASSWORD, REDIRECT, App, form_fields


@pytest.fixture
def urls(smart_server: LiveServer) -> dict[str, str]:
    config = httpx.get(f"{smart_server.url}/fhir/.well-known/smart-configuration").json()
    return {
        "token": config["token_endpoint"],
        "authorize": config["authorization_endpoint"],
        "fhir": f"{smart_server.url}/fhir",
    }


def test_backend_services_with_authlib(urls: dict[str, str], clean: Backend) -> None:
    key = ECKey.generate_key("P-384", private=True, auto_kid=True)
    with clean.database.session(write=True) as connection:
        client_id = clients.add_system(
            connection,
            clock.now(),
            name="Lab",
            organization=None,
            jwks={"keys": [{**key.as_dict(private=False), "kid": key.kid}]},
        ).client_id
    # SMART allows an assertion five minutes at most; Authlib's default is an hour.
    auth = PrivateKeyJWT(
        urls["token"], alg="ES384", headers={"kid": key.kid}, claims={"exp": int(time.time()) + 240}
    )
    session = OAuth2Session(
        client_id,
        key,  # a joserfc key object: Authlib reads a PEM or dict as RSA only
        token_endpoint_auth_method=auth,
        scope="system/Patient.rs",
    )
    session.register_client_auth_method(auth)
    token = session.fetch_token(urls["token"], grant_type="client_credentials")
    assert (token["token_type"], token["scope"]) == ("Bearer", "system/Patient.rs")
    found = session.get(f"{urls['fhir']}/Patient")
    assert found.status_code == 200
    assert found.json()["resourceType"] == "Bundle"


def test_authorization_code_with_pkce_with_authlib(
    urls: dict[str, str], app: App, citizen: str
) -> None:
    session = OAuth2Session(
        app.client_id,
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        scope="launch/patient openid fhirUser offline_access patient/*.rs",
    )
    verifier = secrets.token_urlsafe(48)
    uri, state = session.create_authorization_url(
        urls["authorize"], code_verifier=verifier, aud=urls["fhir"]
    )
    with httpx.Client() as browser:  # keeps the page's cookie, as a browser does
        page = browser.get(uri)  # what the browser shows
        fields = form_fields(page.text) | {"username": "aino", "password": PASSWORD}
        origin = urls["authorize"].rsplit("/auth/", 1)[0]
        back = browser.post(urls["authorize"], data=fields, headers={"Origin": origin})
    assert back.status_code == 302
    token = session.fetch_token(
        urls["token"],
        authorization_response=back.headers["location"],
        code_verifier=verifier,
        state=state,
    )
    assert token["patient"] == citizen
    own = session.get(f"{urls['fhir']}/Patient/{citizen}")
    assert own.json()["id"] == citizen
    refreshed = session.refresh_token(urls["token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
