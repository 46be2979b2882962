"""Sign-in with another service's account (OpenID Connect), on both databases, against a real
provider on this machine: a second medsvc, its own database and keys, whose authorization
server the city trusts. The first time, a code to the account's number links the two; then
the provider alone signs the person in. What the provider answers is checked, and a browser
that did not start the sign-in cannot finish it."""

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from medsvc import clock
from medsvc.app import create_app
from medsvc.db import Database
from medsvc.fhir import jsonio
from medsvc.fhir.index import RESOURCE
from medsvc.identity.tables import ExternalIdentity, OidcPending
from medsvc.kit import migrate
from medsvc.security import accounts, clients
from tests.cli.test_main import medsvc
from tests.conftest import KEYS, Backend, Kept, LiveServer, free_port, make_settings
from tests.identity.conftest import (
    PASSWORD,
    Gatewayed,
    code_in,
    codes_sent,
    origin,
    sign_up,
)
from tests.security.conftest import form_fields
from tests.subscriptions.receiver import Receiver

NUMBER = "13800138000"


@dataclass(frozen=True)
class Provider:
    server: LiveServer
    database: Database
    origin: str  # localhost, not 127.0.0.1: another site, with cookies of its own


@dataclass(frozen=True)
class Federated:
    provider: Provider
    city: Gatewayed


def _provider(kept: Kept) -> tuple[Provider, str]:
    """The provider, with one person ("gov-user") and the city's service registered as a
    confidential client; returns it and the service's redirect URI's port."""
    port, city_port = free_port(), free_port()
    url = kept.database_url("sqlite")
    migrate.upgrade(url)
    keys = kept.tmp_path_factory.mktemp("provider-keys")
    settings = make_settings(
        url,
        port,
        base_url=f"http://localhost:{port}/fhir",
        keys_dir=str(keys),
        jobs="off",
        token_requests_per_minute=1_000_000,
    )
    database = Database(settings)
    server = kept.server(create_app(settings, database), port)
    return Provider(server, database, f"http://localhost:{port}"), str(city_port)


def _register(provider: Provider, city_port: str) -> clients.Registered:
    redirect = f"http://127.0.0.1:{city_port}/auth/oidc/callback"
    with provider.database.session(write=True) as connection:
        accounts.add_account(
            connection,
            clock.now(),
            role="patient",
            username="gov-user",
            password=PASSWORD,
            fhir_user="Patient/gov-1",
        )
        return clients.add_app(
            connection,
            clock.now(),
            name="City booking",
            redirect_uris=[redirect],
            scope="openid",
            confidential=True,
        )


@pytest.fixture
def federated(backend: Backend, kept: Kept, sms_gateway: Receiver, clean: Backend) -> Federated:
    def start() -> Federated:
        provider, city_port = _provider(kept)
        registered = _register(provider, city_port)
        settings = make_settings(
            backend.url,
            int(city_port),
            notify_webhook_url=sms_gateway.url,
            jobs="off",
            token_requests_per_minute=1_000_000,
            oidc_issuer=f"{provider.origin}/auth",
            oidc_client_id=registered.client_id,
            oidc_client_secret=registered.client_secret,
            oidc_display_name="City ID",
        )
        server = kept.server(create_app(settings, backend.database), int(city_port))
        return Federated(provider, Gatewayed(server, settings, sms_gateway))

    made = kept.get("federated", backend.name, start)
    sms_gateway.received.clear()
    return made


@pytest.fixture
def person(federated: Federated) -> Any:
    english = {"Accept-Language": "en"}
    with httpx.Client(base_url=federated.city.server.url, timeout=30, headers=english) as client:
        yield client


def to_provider(person: httpx.Client) -> httpx.Response:
    """From the app's sign-in page to the provider's own sign-in form."""
    start = person.get("/app/signin")
    page = person.get(start.headers["location"])
    link = re.search(r'href="([^"]*/auth/oidc/start\?[^"]*)"', page.text)
    assert link is not None, page.text
    assert "Sign in with City ID" in page.text
    sent = person.get(link[1].replace("&amp;", "&"))
    assert sent.status_code == 302, sent.text
    at_provider = person.get(sent.headers["location"])
    assert at_provider.status_code == 200, at_provider.text
    return at_provider


def back_from_provider(
    person: httpx.Client, provider: Provider, form: httpx.Response
) -> httpx.Response:
    typed = {"username": "gov-user", "password": PASSWORD, "otp": ""}
    answered = person.post(
        f"{provider.origin}/auth/authorize",
        data={**form_fields(form.text), **typed},
        headers={"Origin": provider.origin},
    )
    assert answered.status_code == 302, answered.text
    return person.get(answered.headers["location"])


def link_with_code(
    person: httpx.Client, federated: Federated, clean: Backend, page: httpx.Response
) -> httpx.Response:
    asked = person.post(
        "/auth/oidc/link",
        data={**form_fields(page.text), "phone": NUMBER},
        headers={"Origin": origin(person)},
    )
    assert asked.status_code == 200, asked.text
    [message] = codes_sent(clean, federated.city)
    return person.post(
        "/auth/oidc/link/confirm",
        data={**form_fields(asked.text), "code": code_in(message)},
        headers={"Origin": origin(person)},
    )


def audited_actions(backend: Backend) -> set[str]:
    """The actions on accounts the audit trail records (its entities' details)."""
    with backend.database.session(write=False) as session:
        contents = session.execute(
            select(RESOURCE.c.content).where(RESOURCE.c.resource_type == "AuditEvent")
        ).scalars()
        events = [jsonio.loads_stored(content) for content in contents]
    return {
        detail.get("valueString", "")
        for event in events
        for entity in event.get("entity", [])
        for detail in entity.get("detail", [])
    }


def count(backend: Backend, table: Any) -> int:
    with backend.database.session(write=False) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def signed_up(person: httpx.Client, clean: Backend, federated: Federated) -> None:
    assert sign_up(person, clean, federated.city).status_code == 302
    person.cookies.clear()
    federated.city.gateway.received.clear()


def test_the_provider_discovery_document_describes_a_medsvc_authorization_server(
    federated: Federated,
) -> None:
    found = httpx.get(f"{federated.provider.origin}/auth/.well-known/openid-configuration").json()
    assert found["issuer"] == f"{federated.provider.origin}/auth"
    assert found["id_token_signing_alg_values_supported"] == ["RS256"]
    assert found["code_challenge_methods_supported"] == ["S256"]


def test_the_first_sign_in_with_the_provider_links_the_account_after_a_phone_code(
    person: httpx.Client, clean: Backend, federated: Federated
) -> None:
    signed_up(person, clean, federated)
    back = back_from_provider(person, federated.provider, to_provider(person))
    assert back.status_code == 200, back.text
    assert "Link your account" in back.text
    linked = link_with_code(person, federated, clean, back)
    assert linked.status_code == 302, linked.text
    assert person.get(linked.headers["location"]).headers["location"] == "/app/"
    assert count(clean, ExternalIdentity) == 1
    assert count(clean, OidcPending) == 0


def test_once_linked_the_provider_alone_signs_the_person_in(
    person: httpx.Client, clean: Backend, federated: Federated
) -> None:
    signed_up(person, clean, federated)
    first = back_from_provider(person, federated.provider, to_provider(person))
    assert link_with_code(person, federated, clean, first).status_code == 302
    person.cookies.clear()
    federated.city.gateway.received.clear()
    again = back_from_provider(person, federated.provider, to_provider(person))
    assert again.status_code == 302, again.text
    assert person.get(again.headers["location"]).headers["location"] == "/app/"
    assert codes_sent(clean, federated.city) == []  # no code the second time


def test_a_number_of_no_account_links_nothing(
    person: httpx.Client, clean: Backend, federated: Federated
) -> None:
    back = back_from_provider(person, federated.provider, to_provider(person))
    asked = person.post(
        "/auth/oidc/link",
        data={**form_fields(back.text), "phone": NUMBER},
        headers={"Origin": origin(person)},
    )
    assert asked.status_code == 200
    assert codes_sent(clean, federated.city) == []
    fields = {**form_fields(asked.text), "code": "123456"}
    answer = person.post("/auth/oidc/link/confirm", data=fields, headers={"Origin": origin(person)})
    assert answer.status_code == 400
    assert count(clean, ExternalIdentity) == 0


def test_another_browser_cannot_finish_a_sign_in_it_did_not_start(
    person: httpx.Client, clean: Backend, federated: Federated
) -> None:
    form = to_provider(person)
    typed = {"username": "gov-user", "password": PASSWORD, "otp": ""}
    answered = person.post(
        f"{federated.provider.origin}/auth/authorize",
        data={**form_fields(form.text), **typed},
        headers={"Origin": federated.provider.origin},
    )
    callback = answered.headers["location"]
    with httpx.Client(timeout=30) as stranger:  # a link sent to someone else (login CSRF)
        assert stranger.get(callback).status_code == 403
    assert count(clean, ExternalIdentity) == 0


@pytest.mark.parametrize(
    "query",
    [
        {"state": "made-up", "code": "x"},
        {"code": "x"},
        {"state": "", "code": "x"},
    ],
)
def test_an_answer_to_no_request_of_this_browser_is_refused(
    person: httpx.Client, federated: Federated, query: dict[str, str]
) -> None:
    to_provider(person)
    answer = person.get("/auth/oidc/callback", params=query)
    assert answer.status_code in (400, 403)


def test_a_code_the_provider_did_not_give_is_refused(
    person: httpx.Client, clean: Backend, federated: Federated
) -> None:
    form = to_provider(person)
    state = parse_qs(urlsplit(str(form.url)).query)["state"][0]
    answer = person.get("/auth/oidc/callback", params={"state": state, "code": "forged"})
    assert answer.status_code == 502
    assert "did not work" in answer.text
    assert count(clean, ExternalIdentity) == 0


def test_a_person_who_says_no_at_the_provider_comes_back_to_a_page_that_says_so(
    person: httpx.Client, federated: Federated
) -> None:
    form = to_provider(person)
    state = parse_qs(urlsplit(str(form.url)).query)["state"][0]
    answer = person.get("/auth/oidc/callback", params={"state": state, "error": "access_denied"})
    assert answer.status_code == 400
    assert "did not work" in answer.text


def test_without_a_provider_there_is_no_such_sign_in(
    phone: httpx.Client, gatewayed: Gatewayed
) -> None:
    start = phone.get("/app/signin")
    page = phone.get(start.headers["location"])
    assert "/auth/oidc/start" not in page.text
    query = urlsplit(start.headers["location"]).query
    assert phone.get(f"/auth/oidc/start?{query}").status_code == 404


def test_an_operator_sees_and_removes_a_link_and_the_next_sign_in_asks_for_a_code_again(
    person: httpx.Client, clean: Backend, federated: Federated, tmp_path: Path
) -> None:
    signed_up(person, clean, federated)
    first = back_from_provider(person, federated.provider, to_provider(person))
    assert link_with_code(person, federated, clean, first).status_code == 302
    env = {"MEDSVC_DATABASE_URL": clean.url, "MEDSVC_KEYS_DIR": KEYS.name}
    shown = json.loads(medsvc("users", "show", NUMBER, cwd=tmp_path, env=env).stdout)
    [link] = shown["external_links"]
    assert link["issuer"] == f"{federated.provider.origin}/auth"
    assert link["subject"]
    elsewhere = ("--issuer", "https://elsewhere.example")
    other = medsvc("users", "unlink", NUMBER, *elsewhere, cwd=tmp_path, env=env)
    assert json.loads(other.stdout)["links_removed"] == 0
    removed = medsvc("users", "unlink", NUMBER, cwd=tmp_path, env=env)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout) == {"username": "+8613800138000", "links_removed": 1}
    assert count(clean, ExternalIdentity) == 0
    assert "unlink-external-account" in audited_actions(clean)
    person.cookies.clear()
    federated.city.gateway.received.clear()
    again = back_from_provider(person, federated.provider, to_provider(person))
    assert again.status_code == 200, again.text
    assert "Link your account" in again.text  # the phone is proved again before a new link
    missing = medsvc("users", "unlink", "nobody", cwd=tmp_path, env=env)
    assert missing.returncode != 0
