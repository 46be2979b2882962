"""What the app's tests share: a browser-like HTTP client of the server as production runs
it, a citizen and a doctor with accounts, and signing in through the app's own flow."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Backend, LiveServer
from tests.factories import FHIR_JSON, patient, practitioner
from tests.security.conftest import PASSWORD, acting_as, add_person, form_fields

__all__ = ["acting_as"]  # the fixture, for booking as a citizen through the API


@dataclass(frozen=True)
class People:
    citizen: str  # Patient id of the account "mei"
    other: str  # Patient id of the account "lei"
    doctor: str  # Practitioner id of the account "dr-wang"


@pytest.fixture
def browser(smart_server: LiveServer, clean: Backend) -> Iterator[httpx.Client]:
    """Cookies kept, redirects not followed: each step of a flow is checked."""
    with httpx.Client(base_url=smart_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def people(client: httpx.Client, clean: Backend) -> People:
    def made(resource: dict[str, object]) -> str:
        response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    citizen = made(patient("m-1", name=[{"family": "李", "given": ["梅"]}]))
    other = made(patient("m-2", name=[{"family": "王", "given": ["磊"]}]))
    doctor = made(practitioner("d-1", family="Wang"))
    add_person(clean, "patient", "mei", f"Patient/{citizen}")
    add_person(clean, "patient", "lei", f"Patient/{other}")
    add_person(clean, "practitioner", "dr-wang", f"Practitioner/{doctor}")
    return People(citizen, other, doctor)


def origin_of(browser: httpx.Client) -> str:
    return str(browser.base_url).rstrip("/")


def sign_in(browser: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """The app's sign-in as a browser goes through it; returns the callback's answer."""
    start = browser.get("/app/signin")
    assert start.status_code == 303, start.text
    return finish_sign_in(browser, start, username, password)


def finish_sign_in(
    browser: httpx.Client, start: httpx.Response, username: str, password: str = PASSWORD
) -> httpx.Response:
    form = browser.get(start.headers["location"])
    assert form.status_code == 200, form.text
    typed = {"username": username, "password": password, "otp": ""}
    origin = {"Origin": origin_of(browser)}
    posted = browser.post(
        "/auth/authorize", data={**form_fields(form.text), **typed}, headers=origin
    )
    assert posted.status_code == 302, posted.text
    return browser.get(posted.headers["location"])


def signed_in(browser: httpx.Client, username: str) -> httpx.Client:
    done = sign_in(browser, username)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/app/"
    return browser
