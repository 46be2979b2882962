"""A server with the city's SMS gateway configured (a local receiver), and a citizen going
through sign-up in a browser-like client: the code is read from what the gateway received."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from medsvc import jobs
from medsvc.app import create_app
from medsvc.config import Settings
from tests.conftest import Backend, Kept, LiveServer, free_port, make_settings
from tests.security.conftest import form_fields
from tests.subscriptions.receiver import Receiver

PASSWORD = "a long enough password"
# Valid resident identity numbers (GB 11643-1999 check characters): born 1990, 1985 and 2015,
# and one whose check character is X (born 1970).
MEI = "110105199003071239"
LEI = "110105198504120014"
CHILD = "110105201506010024"
WITH_X = "31011519700101002X"


@dataclass(frozen=True)
class Gatewayed:
    server: LiveServer
    settings: Settings
    gateway: Receiver


@pytest.fixture(scope="session")
def sms_gateway() -> Iterator[Receiver]:
    receiver = Receiver().up()
    yield receiver
    receiver.down()


def gatewayed_with(
    backend: Backend, kept: Kept, gateway: Receiver, provider: str = ""
) -> Gatewayed:
    """The app with an SMS gateway and a verification provider; its jobs run when a test
    says (jobs off)."""

    def start() -> Gatewayed:
        port = free_port()
        settings = make_settings(
            backend.url,
            port,
            token_requests_per_minute=1_000_000,
            notify_webhook_url=gateway.url,
            identity_provider=provider,
            jobs="off",
        )
        server = kept.server(create_app(settings, backend.database), port)
        return Gatewayed(server, settings, gateway)

    made = kept.get(f"gatewayed:{provider}", backend.name, start)
    gateway.received.clear()
    gateway.arrived.clear()
    return made


@pytest.fixture
def gatewayed(backend: Backend, kept: Kept, sms_gateway: Receiver, clean: Backend) -> Gatewayed:
    return gatewayed_with(backend, kept, sms_gateway)


@pytest.fixture
def phone(gatewayed: Gatewayed, clean: Backend) -> Iterator[httpx.Client]:
    """A browser reading English (the pages' words are checked in English): cookies kept,
    redirects not followed, every step checked."""
    english = {"Accept-Language": "en"}
    with httpx.Client(base_url=gatewayed.server.url, timeout=30, headers=english) as client:
        yield client


def origin(client: httpx.Client) -> str:
    return str(client.base_url).rstrip("/")


def start_flow(client: httpx.Client, flow: str) -> dict[str, str]:
    """The app's sign-in, then the link to a flow of the same request (signup, code,
    password): the fields of the flow's first form."""
    start = client.get("/app/signin")
    assert start.status_code == 303, start.text
    signin = client.get(start.headers["location"])
    assert signin.status_code == 200, signin.text
    link = re.search(rf'href="([^"]*/auth/{flow}\?[^"]*)"', signin.text)
    assert link is not None, signin.text
    form = client.get(link[1].replace("&amp;", "&"))
    assert form.status_code == 200, form.text
    return form_fields(form.text)


def start_sign_up(client: httpx.Client) -> dict[str, str]:
    return start_flow(client, "signup")


def details(name: str = "王美", number: str = MEI, mobile: str = "13800138000") -> dict[str, str]:
    return {"name": name, "kind": "resident", "number": number, "country": "", "phone": mobile}


def ask_for_code(
    client: httpx.Client, fields: dict[str, str], typed: dict[str, str]
) -> httpx.Response:
    return client.post("/auth/signup", data={**fields, **typed}, headers={"Origin": origin(client)})


def codes_sent(backend: Backend, gatewayed: Gatewayed) -> list[dict[str, Any]]:
    """The gateway's messages, after the send-notices job has run."""
    jobs.run_once(backend.database, jobs.notices_job(gatewayed.settings))
    return [json.loads(r.body) for r in gatewayed.gateway.received]


def code_in(message: dict[str, Any]) -> str:
    found = re.search(r"\b([0-9]{6})\b", message["text"])
    assert found is not None, message
    return found[1]


def confirm(
    client: httpx.Client, code_page: httpx.Response, code: str, password: str = PASSWORD
) -> httpx.Response:
    fields = form_fields(code_page.text)
    typed = {"code": code, "password": password}
    return client.post(
        "/auth/signup/confirm", data={**fields, **typed}, headers={"Origin": origin(client)}
    )


def sign_up(
    client: httpx.Client, backend: Backend, gatewayed: Gatewayed, **typed: str
) -> httpx.Response:
    """The whole sign-up; returns the answer to the code's confirmation."""
    code_page = ask_for_code(client, start_sign_up(client), details(**typed))
    assert code_page.status_code == 200, code_page.text
    [message] = codes_sent(backend, gatewayed)[-1:]
    return confirm(client, code_page, code_in(message))
