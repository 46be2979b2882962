"""Client registration: exact, safe redirect URIs; public keys only; hashed secrets."""

import json

import pytest
from joserfc.jwk import ECKey

from medsvc import clock
from medsvc.security import clients
from tests.conftest import Backend


def public_jwks(kid: str = "k1") -> dict:
    key = ECKey.generate_key("P-384", private=True)
    return {"keys": [{**key.as_dict(private=False), "kid": kid}]}


def test_app_registration_and_secret(clean: Backend) -> None:
    with clean.database.session(write=True) as connection:
        made = clients.add_app(
            connection,
            clock.now(),
            name="Citizen app",
            confidential=True,
            redirect_uris=["https://app.example/cb", "com.example.app:/cb", "http://127.0.0.1/cb"],
        )
        found = clients.find_client(connection, made.client_id)
    assert found is not None
    assert made.client_secret is not None
    assert found.kind == "app"
    assert json.loads(found.redirect_uris)[1] == "com.example.app:/cb"
    assert made.client_secret not in (found.secret_hash or "")
    assert clients.secret_matches(found, made.client_secret)
    assert not clients.secret_matches(found, made.client_secret + "x")


@pytest.mark.parametrize(
    "uri", ["http://app.example/cb", "https://app.example/cb#frag", "/relative", "https:///cb"]
)
def test_unsafe_redirect_uris_are_refused(clean: Backend, uri: str) -> None:
    with pytest.raises(clients.InvalidRegistration), clean.database.session(write=True) as c:
        clients.add_app(c, clock.now(), name="x", redirect_uris=[uri])


def test_system_registration(clean: Backend) -> None:
    with clean.database.session(write=True) as connection:
        made = clients.add_system(
            connection,
            clock.now(),
            name="Lab",
            organization="Organization/o1",
            jwks=public_jwks(),
            scope="system/Observation.cruds",
        )
        found = clients.find_client(connection, made.client_id)
    assert found is not None
    assert (found.kind, found.organization, found.scopes) == (
        "system",
        "Organization/o1",
        "system/Observation.cruds",
    )


@pytest.mark.parametrize(
    ("jwks", "scope", "reason"),
    [
        ({"keys": []}, None, "non-empty"),
        ({"keys": [{"kty": "oct", "kid": "a", "k": "AAAA"}]}, None, "RSA or EC"),
        (
            {"keys": [{**ECKey.generate_key("P-384").as_dict(private=True), "kid": "p"}]},
            None,
            "private part",
        ),
        (public_jwks(), "patient/*.rs", "may hold only"),
        (public_jwks(), "openid", "not a SMART resource scope"),
    ],
)
def test_refused_systems(clean: Backend, jwks: dict, scope: str | None, reason: str) -> None:
    with (
        pytest.raises(clients.InvalidRegistration, match=reason),
        clean.database.session(write=True) as connection,
    ):
        clients.add_system(
            connection, clock.now(), name="x", organization=None, jwks=jwks, scope=scope
        )


@pytest.mark.parametrize(
    "url", ["http://keys.example/jwks.json", "com.example.app:/jwks", "file:///etc/jwks.json"]
)
def test_key_urls_must_be_https_or_loopback(clean: Backend, url: str) -> None:
    with (
        pytest.raises(clients.InvalidRegistration, match="JWKS URL"),
        clean.database.session(write=True) as connection,
    ):
        clients.add_system(connection, clock.now(), name="x", organization=None, jwks_url=url)
