"""The id_tokens the relying party refuses, from a provider on this machine that answers what
a test tells it to: another issuer, another audience, another nonce, expired, unsigned or
signed with a key that is not the provider's, several audiences without azp, no subject."""

import base64
import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from medsvc.identity.oidc import RelyingParty, SignInFailed
from tests.conftest import free_port

CLIENT = "city-service"


class BadProvider:
    """Discovery, keys and a token endpoint whose id_token a test sets."""

    def __init__(self) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
        self.id_token = ""
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.endswith("/openid-configuration"):
                    self._json(provider.discovery())
                else:
                    self._json(KeySet([provider.key]).as_dict(private=False))

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self._json(
                    {"access_token": "x", "token_type": "Bearer", "id_token": provider.id_token}
                )

            def _json(self, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def discovery(self) -> dict[str, str]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
        }

    def claims(self, sent_nonce: str, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        found = {
            "iss": self.issuer,
            "aud": CLIENT,
            "sub": "person-1",
            "nonce": sent_nonce,
            "iat": now,
            "exp": now + 300,
        }
        found.update(changes)
        return {k: v for k, v in found.items() if v is not None}

    def sign(self, claims: dict[str, Any], key: Any = None, alg: str = "RS256") -> str:
        return jwt.encode({"alg": alg, "kid": "k1"}, claims, key or self.key, algorithms=[alg])


@pytest.fixture
def provider() -> Iterator[BadProvider]:
    made = BadProvider()
    yield made
    made.server.shutdown()
    made.server.server_close()


def party(provider: BadProvider) -> RelyingParty:
    return RelyingParty(provider.issuer, CLIENT, "secret", "openid", "sub", "http://127.0.0.1:9/cb")


def test_a_good_id_token_names_the_person(provider: BadProvider) -> None:
    rp = party(provider)
    sent = rp.start()
    provider.id_token = provider.sign(provider.claims(sent.nonce))
    assert rp.subject("code", sent) == "person-1"
    assert f"client_id={CLIENT}" in sent.url
    assert "code_challenge_method=S256" in sent.url


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "http://127.0.0.1:1"},
        {"aud": "another-service"},
        {"aud": [CLIENT, "another-service"]},  # several audiences, no azp naming us
        {"nonce": "another-sign-in"},
        {"nonce": None},
        {"exp": int(time.time()) - 3600},
        {"iat": None},
        {"sub": None},
        {"sub": ""},
        {"sub": "x" * 256},
        {"sub": 12345},
    ],
)
def test_id_tokens_that_name_nobody_for_us_now_are_refused(
    provider: BadProvider, changes: dict[str, Any]
) -> None:
    rp = party(provider)
    sent = rp.start()
    provider.id_token = provider.sign(provider.claims(sent.nonce, **changes))
    with pytest.raises(SignInFailed):
        rp.subject("code", sent)


def test_several_audiences_are_accepted_when_azp_names_us(provider: BadProvider) -> None:
    rp = party(provider)
    sent = rp.start()
    claims = provider.claims(sent.nonce, aud=[CLIENT, "other"], azp=CLIENT)
    provider.id_token = provider.sign(claims)
    assert rp.subject("code", sent) == "person-1"


def test_a_token_signed_with_another_key_is_refused(provider: BadProvider) -> None:
    rp = party(provider)
    sent = rp.start()
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    provider.id_token = provider.sign(provider.claims(sent.nonce), key=stranger)
    with pytest.raises(SignInFailed):
        rp.subject("code", sent)


def _part(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header",
    [{"alg": "none"}, {"alg": "HS256", "kid": "k1"}, {"alg": "RS256", "kid": "unknown"}],
)
def test_an_unsigned_hmac_or_unknown_key_token_is_refused(
    provider: BadProvider, header: dict[str, str]
) -> None:
    rp = party(provider)
    sent = rp.start()
    provider.id_token = f"{_part(header)}.{_part(provider.claims(sent.nonce))}.c2ln"
    with pytest.raises(SignInFailed):
        rp.subject("code", sent)


def test_a_provider_naming_another_issuer_in_its_discovery_is_refused(
    provider: BadProvider,
) -> None:
    rp = RelyingParty(provider.issuer + "/other", CLIENT, "s", "openid", "sub", "http://x/cb")
    with pytest.raises(SignInFailed):
        rp.start()


def test_a_provider_that_is_down_fails_the_sign_in_not_the_server() -> None:
    rp = RelyingParty(
        f"http://127.0.0.1:{free_port()}", CLIENT, "s", "openid", "sub", "http://x/cb"
    )
    with pytest.raises(SignInFailed):
        rp.start()
