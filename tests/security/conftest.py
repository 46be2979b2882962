"""What the security tests share: a server that demands tokens, a citizen, an app, and
apps whose every caller acts under a chosen context."""

import base64
import hashlib
import secrets
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import Request

from medsvc import clock
from medsvc.app import create_app
from medsvc.security import accounts, clients, scopes
from medsvc.security.context import AuthContext, auth_context
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.factories import FHIR_JSON, patient

PASSWORD = "a long enough passphrase"
# What the default request of an app registered without scopes is granted: its wildcard,
# type by type.
GRANTED_BY_DEFAULT = " ".join(
    [
        "launch/patient openid fhirUser offline_access",
        *scopes.narrow("patient/*.rs", clients.APP_SCOPES, ("patient",)),
    ]
)
REDIRECT = "http://127.0.0.1:9/callback"


def challenge_of(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


class FormFields(HTMLParser):
    """The inputs of a page's form, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def form_fields(page: str) -> dict[str, str]:
    form = FormFields()
    form.feed(page)
    return form.fields


class App:
    """A registered app and the person who signs in through it, in a browser (the client's
    cookies) that opens the sign-in page before it posts the form."""

    def __init__(self, http: httpx.Client, backend: Backend, fhir_base: str, **register: object):
        self.http, self.fhir_base = http, fhir_base
        with backend.database.session(write=True) as connection:
            made = clients.add_app(
                connection, clock.now(), name="City app", redirect_uris=[REDIRECT], **register
            )  # type: ignore[arg-type]
        self.client_id, self.secret = made.client_id, made.client_secret
        self.verifier = secrets.token_urlsafe(48)

    def params(
        self,
        scope: str = "launch/patient openid fhirUser offline_access patient/*.rs",
        **changes: str,
    ) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": scope,
            "state": "s-123",
            "aud": self.fhir_base,
            "nonce": "n-1",
            "code_challenge": challenge_of(self.verifier),
            "code_challenge_method": "S256",
        }
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}

    def form(self, **params: str) -> dict[str, str]:
        """The sign-in form's fields as the page gives them (its CSRF token among them)."""
        page = self.http.get("/auth/authorize", params=self.params(**params))
        assert page.status_code == 200, page.text
        return form_fields(page.text)

    def sign_in(
        self,
        username: str,
        password: str = PASSWORD,
        otp: str = "",
        headers: dict[str, str] | None = None,
        **params: str,
    ) -> httpx.Response:
        typed = {"username": username, "password": password, "otp": otp}
        origin = {"Origin": str(self.http.base_url).rstrip("/")}
        return self.http.post(
            "/auth/authorize",
            data={**self.form(**params), **typed},
            headers=origin if headers is None else headers,
        )

    def code(self, username: str, **params: str) -> str:
        response = self.sign_in(username, **params)
        assert response.status_code == 302, response.text
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert query["state"] == ["s-123"]
        return query["code"][0]

    def exchange(self, code: str, verifier: str | None = "", **extra: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": self.client_id,
            "code_verifier": verifier or self.verifier,
            **extra,
        }
        if verifier is None:
            del form["code_verifier"]
        return self.http.post("/auth/token", data=form)


@pytest.fixture
def http(smart_server: LiveServer, clean: Backend) -> Iterator[httpx.Client]:
    # The sign-in pages speak the browser's language: these tests read them in English.
    english = {"Accept-Language": "en"}
    with httpx.Client(base_url=smart_server.url, timeout=30, headers=english) as client:
        yield client


@pytest.fixture
def fhir_base(smart_server: LiveServer) -> str:
    return f"{smart_server.url}/fhir"


def add_person(backend: Backend, role: str, username: str, fhir_user: str) -> None:
    """An account with the shared test password."""
    with backend.database.session(write=True) as connection:
        accounts.add_account(
            connection,
            clock.now(),
            role=role,
            username=username,
            password=PASSWORD,
            fhir_user=fhir_user,
        )


@pytest.fixture
def citizen(client: httpx.Client, clean: Backend) -> str:
    """A citizen's Patient id; the account's username is 'aino'."""
    patient_id = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    add_person(clean, "patient", "aino", f"Patient/{patient_id}")
    return str(patient_id)


@pytest.fixture
def app(http: httpx.Client, clean: Backend, fhir_base: str) -> App:
    return App(http, clean, fhir_base)


@pytest.fixture
def acting_as(clean: Backend) -> Iterator[Callable[..., httpx.Client]]:
    """HTTP clients of a running app (with its own settings, if given) whose callers act
    under a given context."""
    opened: list[tuple[LiveServer, httpx.Client]] = []

    def open_as(ctx: AuthContext, **settings: Any) -> httpx.Client:
        async def provide(_request: Request) -> AuthContext:
            return ctx

        port = free_port()
        app = create_app(make_settings(clean.url, port, **settings), clean.database)
        app.dependency_overrides[auth_context] = provide
        server = LiveServer(app, port).__enter__()
        http = httpx.Client(base_url=server.url + "/fhir", timeout=30)
        opened.append((server, http))
        return http

    yield open_as
    for server, http in opened:
        http.close()
        server.__exit__()
