"""The write policy's world: signed-in callers of every role, with real tokens from the
running server (a hospital system by a signed assertion, people through an app's
authorization-code flow), and what the hospital published and pushed for a citizen. The app
is registered for `patient/*.cruds user/*.cruds`, so every refusal is the write policy's."""

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from medsvc import clock
from medsvc.security import accounts
from tests.conftest import Backend, LiveServer
from tests.factories import FHIR_JSON, patient
from tests.results.test_pushes import push
from tests.scheduling.clinic import Clinic, add_slots, open_clinic
from tests.security.conftest import PASSWORD, App, add_person
from tests.security.test_oauth import SystemClient

BROAD = "openid fhirUser launch/patient offline_access patient/*.cruds user/*.cruds"
CITIZEN_ID = "010190-123A"


@dataclass
class World:
    """The callers, and what the hospital published and pushed for the citizen."""

    platform: httpx.Client
    hospital: httpx.Client
    citizen: httpx.Client
    practitioner: httpx.Client
    admin: httpx.Client
    clinic: Clinic
    slots: list[str]
    patient: str
    report: str
    observation: str


def bearer(fhir_base: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=fhir_base, timeout=30, headers={"Authorization": f"Bearer {token}", **FHIR_JSON}
    )


def person_token(app: App, username: str, scope: str) -> str:
    response = app.exchange(app.code(username, scope=scope))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def hospital_token(http: httpx.Client, clean: Backend, token_url: str, org: str) -> str:
    system = SystemClient(clean, token_url, organization=f"Organization/{org}")
    response = http.post("/auth/token", data=system.form("system/*.cruds"))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _entry_id(entries: list[dict], resource_type: str) -> str:
    """The id of the first resource of the type a transaction wrote."""
    marker = f"/{resource_type}/"
    locations = [e["response"]["location"] for e in entries]
    return next(loc.split(marker)[1].split("/")[0] for loc in locations if marker in loc)


@pytest.fixture
def world(
    client: httpx.Client, http: httpx.Client, clean: Backend, smart_server: LiveServer
) -> Iterator[World]:
    clinic = open_clinic(client)
    slots = add_slots(client, clinic.schedule, 3)
    token = hospital_token(http, clean, f"{smart_server.url}/auth/token", clinic.organization)
    hospital = bearer(f"{smart_server.url}/fhir", token)
    patient_id = client.post("/Patient", json=patient(CITIZEN_ID), headers=FHIR_JSON).json()["id"]
    pushed = hospital.post("", json=push(CITIZEN_ID, "R-1"))
    assert pushed.status_code == 200, pushed.text
    add_person(clean, "patient", "aino", f"Patient/{patient_id}")
    add_person(clean, "practitioner", "dr.laine", f"Practitioner/{clinic.practitioner}")
    with clean.database.session(write=True) as connection:
        accounts.add_account(
            connection, clock.now(), role="admin", username="admin", password=PASSWORD
        )
    app = App(http, clean, f"{smart_server.url}/fhir", scope=BROAD)
    callers = [
        bearer(f"{smart_server.url}/fhir", person_token(app, username, scope))
        for username, scope in (
            ("aino", "launch/patient patient/*.cruds"),
            ("dr.laine", "user/*.cruds"),
            ("admin", "user/*.cruds"),
        )
    ]
    entries = pushed.json()["entry"]
    yield World(
        client,
        hospital,
        *callers,
        clinic=clinic,
        slots=slots,
        patient=patient_id,
        report=_entry_id(entries, "DiagnosticReport"),
        observation=_entry_id(entries, "Observation"),
    )
    for caller in (hospital, *callers):
        caller.close()
