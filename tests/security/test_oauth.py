"""SMART Backend Services against a running server: discovery, the client_credentials grant
with signed assertions (RS384 and ES384), every way an assertion is refused, replay, and the
tokens it issues used on the FHIR API."""

import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from medsvc import clock
from medsvc.security import clients
from tests.conftest import Backend, LiveServer, free_port
from tests.factories import FHIR_JSON, patient
from tests.security.conftest import App

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SystemClient:
    """A hospital system as its integration engine would be set up: a key pair and an id."""

    def __init__(self, backend: Backend, token_url: str, alg: str = "ES384", **register: Any):
        self.alg, self.token_url, self.kid = alg, token_url, f"key-{uuid.uuid4().hex[:8]}"
        self.key = (
            ECKey.generate_key("P-384", private=True)
            if alg.startswith("ES")
            else RSAKey.generate_key(2048, private=True)
        )
        public = {**self.key.as_dict(private=False), "kid": self.kid}
        register.setdefault("jwks", {"keys": [public]})
        self.public_jwks = {"keys": [public]}
        with backend.database.session(write=True) as connection:
            self.client_id = clients.add_system(
                connection,
                clock.now(),
                name="Lab",
                organization=register.pop("organization", None),
                **register,
            ).client_id

    def assertion(self, header: dict | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "exp": now + 240,
            "jti": str(uuid.uuid4()),
            **claims,
        }
        full_header = {"alg": self.alg, "kid": self.kid, "typ": "JWT", **(header or {})}
        return jwt.encode(full_header, body, self.key, algorithms=[full_header["alg"]])

    def form(self, scope: str = "system/*.cruds", **claims: Any) -> dict[str, str]:
        return {
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(**claims),
        }


@pytest.fixture
def token_url(smart_server: LiveServer) -> str:
    return f"{smart_server.url}/auth/token"  # the server's base URL is on its own port


def test_discovery(http: httpx.Client, token_url: str) -> None:
    config = http.get("/fhir/.well-known/smart-configuration").json()
    assert config["token_endpoint"] == token_url
    assert config["token_endpoint_auth_signing_alg_values_supported"] == ["RS384", "ES384"]
    keys = http.get("/auth/jwks").json()["keys"]
    assert keys
    assert all("d" not in k and k["alg"] == "RS256" for k in keys)
    security = http.get("/fhir/metadata").json()["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    auth = token_url.removesuffix("/token")
    assert uris == {
        "authorize": f"{auth}/authorize",
        "token": token_url,
        "revoke": f"{auth}/revoke",
        "introspect": f"{auth}/introspect",
    }


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_platform_system_token_reaches_the_api(
    http: httpx.Client, clean: Backend, token_url: str, alg: str
) -> None:
    system = SystemClient(clean, token_url, alg)
    response = http.post("/auth/token", data=system.form())
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    issued = response.json()
    assert (issued["token_type"], issued["expires_in"], issued["scope"]) == (
        "Bearer",
        300,
        "system/*.cruds",
    )
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    created = http.post("/fhir/Patient", json=patient(), headers={**FHIR_JSON, **bearer})
    assert created.status_code == 201, created.text
    assert http.get(f"/fhir/Patient/{created.json()['id']}", headers=bearer).status_code == 200


def test_scopes_are_narrowed_to_the_registration(
    http: httpx.Client, clean: Backend, token_url: str
) -> None:
    system = SystemClient(clean, token_url, scope="system/Patient.rs")
    issued = http.post(
        "/auth/token", data=system.form("system/Patient.cruds system/Observation.rs")
    ).json()
    assert issued["scope"] == "system/Patient.rs"
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    assert http.get("/fhir/Patient", headers=bearer).status_code == 200
    refused = http.post("/fhir/Patient", json=patient(), headers={**FHIR_JSON, **bearer})
    assert refused.status_code == 403
    assert http.get("/fhir/Observation", headers=bearer).status_code == 403
    outside = http.post("/auth/token", data=system.form("system/Observation.rs"))
    assert (outside.status_code, outside.json()["error"]) == (400, "invalid_scope")


def test_a_hospital_token_carries_its_organization_and_reads_the_directory(
    http: httpx.Client, clean: Backend, token_url: str, client: httpx.Client
) -> None:
    client.post("/Patient", json=patient(), headers=FHIR_JSON)
    client.post(
        "/Organization", json={"resourceType": "Organization", "name": "Lab"}, headers=FHIR_JSON
    )
    system = SystemClient(clean, token_url, organization="Organization/o1")
    issued = http.post("/auth/token", data=system.form()).json()
    claims = jwt.decode(issued["access_token"], _server_keys(http)).claims
    assert (claims["organization"], claims.get("platform")) == ("Organization/o1", None)
    bearer = {"Authorization": f"Bearer {issued['access_token']}"}
    assert http.get("/fhir/Patient", headers=bearer).json()["total"] == 0
    assert http.get("/fhir/Organization", headers=bearer).json()["total"] == 1


def _server_keys(http: httpx.Client) -> KeySet:
    return KeySet.import_key_set(http.get("/auth/jwks").json())


def refusals(system: SystemClient, token_url: str) -> list[tuple[str, dict[str, str], str]]:
    now = int(time.time())
    good = system.form()
    other = ECKey.generate_key("P-384", private=True)
    forged = jwt.encode(
        {"alg": "ES384", "kid": system.kid},
        {
            "iss": system.client_id,
            "sub": system.client_id,
            "aud": token_url,
            "exp": now + 60,
            "jti": "x",
        },
        other,
        algorithms=["ES384"],
    )
    return [
        ("wrong grant", {**good, "grant_type": "password"}, "unsupported_grant_type"),
        (
            "no grant",
            {k: v for k, v in good.items() if k != "grant_type"},
            "unsupported_grant_type",
        ),
        (
            "assertion type",
            {**good, "client_assertion_type": "not_an_assertion_type"},
            "invalid_client",
        ),
        (
            "no assertion",
            {k: v for k, v in good.items() if k != "client_assertion"},
            "invalid_client",
        ),
        ("garbage", {**good, "client_assertion": "abc.def.ghi"}, "invalid_client"),
        ("wrong key", {**good, "client_assertion": forged}, "invalid_client"),
        ("unknown issuer", system.form(iss="someone", sub="someone"), "invalid_client"),
        ("sub differs", system.form(sub="someone"), "invalid_client"),
        ("wrong aud", system.form(aud="https://other.example/token"), "invalid_client"),
        ("expired", system.form(exp=now - 120), "invalid_client"),
        ("exp too far", system.form(exp=now + 900), "invalid_client"),
        ("no exp", system.form(exp=None), "invalid_client"),
        ("no jti", system.form(jti=None), "invalid_client"),
        (
            "unknown kid",
            {**good, "client_assertion": system.assertion({"kid": "other"})},
            "invalid_client",
        ),
        ("no scope", {**good, "scope": ""}, "invalid_scope"),
        ("patient scope", system.form("patient/*.rs"), "invalid_scope"),
        ("bad scope", system.form("system/Patient.zz"), "invalid_scope"),
    ]


def test_every_bad_request_is_refused_with_its_oauth_error(
    http: httpx.Client, clean: Backend, token_url: str
) -> None:
    system = SystemClient(clean, token_url)
    for name, form, error in refusals(system, token_url):
        response = http.post("/auth/token", data=form)
        assert (response.status_code, response.json()["error"]) == (400, error), name
        assert response.headers["cache-control"] == "no-store", name
    hs256 = jwt.encode({"alg": "HS256"}, {"iss": system.client_id}, OctKey.import_key(b"x" * 32))
    response = http.post("/auth/token", data={**system.form(), "client_assertion": hs256})
    assert response.json()["error"] == "invalid_client"


def test_malformed_requests(http: httpx.Client, clean: Backend, token_url: str) -> None:
    system = SystemClient(clean, token_url)
    as_json = http.post("/auth/token", json=system.form())
    assert as_json.json()["error"] == "invalid_request"
    form = system.form()
    body = httpx.QueryParams(form).add("scope", "system/*.rs")
    repeated = http.post(
        "/auth/token",
        content=str(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"


def test_an_assertion_is_accepted_once_even_concurrently(
    http: httpx.Client, clean: Backend, token_url: str
) -> None:
    system = SystemClient(clean, token_url)
    form = system.form()
    statuses: list[int] = []

    def post() -> None:
        with httpx.Client(base_url=str(http.base_url), timeout=30) as own:
            statuses.append(own.post("/auth/token", data=form).status_code)

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [400] * 7
    assert http.post("/auth/token", data=form).json()["error"] == "invalid_client"


def test_keys_registered_by_url_are_fetched(
    http: httpx.Client, clean: Backend, token_url: str
) -> None:
    publisher = FastAPI()
    port = free_port()
    probe = SystemClient(clean, token_url)  # only its key pair is used
    publisher.get("/jwks.json")(lambda: probe.public_jwks)
    with LiveServer(publisher, port):
        system = SystemClient(
            clean, token_url, jwks=None, jwks_url=f"http://127.0.0.1:{port}/jwks.json"
        )
        system.key, system.kid = probe.key, probe.kid
        assert http.post("/auth/token", data=system.form()).status_code == 200
    unreachable = http.post("/auth/token", data=system.form())
    assert unreachable.json()["error"] == "invalid_client"


def test_writes_go_on_while_a_clients_keys_are_fetched(
    http: httpx.Client, clean: Backend, token_url: str
) -> None:
    """Fetching a system's keys can take seconds; no write waits for it meanwhile."""
    writer = SystemClient(clean, token_url)
    token = http.post("/auth/token", data=writer.form()).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    asked, answer = threading.Event(), threading.Event()
    probe = SystemClient(clean, token_url)

    def slow_jwks() -> dict:
        asked.set()
        answer.wait(20)
        return probe.public_jwks

    publisher = FastAPI()
    publisher.get("/jwks.json")(slow_jwks)
    port = free_port()
    with LiveServer(publisher, port):
        slow = SystemClient(
            clean, token_url, jwks=None, jwks_url=f"http://127.0.0.1:{port}/jwks.json"
        )
        slow.key, slow.kid = probe.key, probe.kid
        results: list[int] = []
        waiting = threading.Thread(
            target=lambda: results.append(http.post("/auth/token", data=slow.form()).status_code)
        )
        waiting.start()
        assert asked.wait(10)
        try:
            created = http.post(
                "/fhir/Patient", json=patient(), headers={**FHIR_JSON, **bearer}, timeout=5
            )
            assert created.status_code == 201
            assert not results  # the token request is still waiting for the keys
        finally:
            answer.set()
            waiting.join()
    assert results == [200]


def test_an_app_cannot_use_client_credentials(
    http: httpx.Client, clean: Backend, fhir_base: str
) -> None:
    app = App(http, clean, fhir_base)
    refused = http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "scope": "system/*.rs",
        },
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_client")


def test_fhir_requests_need_a_valid_bearer_token(http: httpx.Client) -> None:
    assert http.get("/fhir/metadata").status_code == 200
    missing = http.get("/fhir/Patient")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    invalid = http.get("/fhir/Patient", headers={"Authorization": "Bearer abc.def.ghi"})
    assert invalid.status_code == 401
    assert 'error="invalid_token"' in invalid.headers["www-authenticate"]
    assert invalid.json()["resourceType"] == "OperationOutcome"
    basic = http.get("/fhir/Patient", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
