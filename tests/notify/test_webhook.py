"""Citizens' notices go to the city's gateway too, when one is configured: queued with the
change that caused them, posted as signed JSON with the citizen's contact points and no
clinical content, retried while the gateway is down, given up after the retry window."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc.jwk import KeySet

from medsvc import clock, jobs
from medsvc.subscriptions import signature
from tests.conftest import Backend, LiveServer
from tests.factories import FHIR_JSON, patient
from tests.scheduling.clinic import (
    Clinic,
    add_slots,
    booked,
    hospital_context,
    open_clinic,
    parameters,
)
from tests.security.conftest import acting_as
from tests.subscriptions.receiver import Receiver

__all__ = ["acting_as"]


@pytest.fixture
def gateway() -> Any:
    found = Receiver().up()
    yield found
    found.down()


def book_and_cancel(
    client: httpx.Client, hospital: httpx.Client, clinic: Clinic, **patient_extra: Any
) -> str:
    [slot] = add_slots(client, clinic.schedule, 1)
    telecom = [
        {"system": "sms", "value": "+358401234567"},
        {"system": "email", "value": "old@example.org", "period": {"end": "2020-01-01"}},
    ]
    created = client.post(
        "/Patient", json=patient("1", telecom=telecom, **patient_extra), headers=FHIR_JSON
    )
    patient_id = created.json()["id"]
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{patient_id}")
    appointment = booked(client.post("/Appointment/$book", json=body, headers=FHIR_JSON))["id"]
    cancel = parameters(reason="Lab results pending")
    response = hospital.post(f"/Appointment/{appointment}/$cancel", json=cancel, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    return str(patient_id)


def run_notices(clean: Backend, url: str, now: Any = None) -> int:
    settings = clean.settings.model_copy(update={"notify_webhook_url": url})
    return jobs.run_once(clean.database, jobs.notices_job(settings), now or clock.now())


def test_a_notice_reaches_the_gateway_signed_and_without_clinical_content(
    live_server: LiveServer,
    client: httpx.Client,
    clean: Backend,
    acting_as: Callable[..., httpx.Client],
    gateway: Receiver,
) -> None:
    clinic = open_clinic(client)
    hospital = acting_as(hospital_context(clinic.organization), notify_webhook_url=gateway.url)
    patient_id = book_and_cancel(client, hospital, clinic)
    assert run_notices(clean, gateway.url) == 1
    [received] = gateway.received
    message = json.loads(received.body)
    assert message["patient"] == f"Patient/{patient_id}"
    assert message["to"] == [{"system": "sms", "value": "+358401234567"}]
    assert message["topic"] == "appointment-changed"
    assert "Lab" not in received.body.decode()
    keys = KeySet.import_key_set(httpx.get(f"{live_server.url}/auth/notification-keys").json())
    assert signature.verify(keys, received.body, received.headers[signature.HEADER])
    assert run_notices(clean, gateway.url) == 0  # sent once


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (None, "医院已更改您的一项预约，请登录查看。"),
        ("en", "The hospital has changed one of your appointments. Sign in to see it."),
    ],
)
def test_the_gateway_gets_the_text_of_the_communication_in_the_citizens_language(
    client: httpx.Client,
    clean: Backend,
    acting_as: Callable[..., httpx.Client],
    gateway: Receiver,
    language: str | None,
    text: str,
) -> None:
    clinic = open_clinic(client)
    hospital = acting_as(hospital_context(clinic.organization), notify_webhook_url=gateway.url)
    chosen = {"system": "urn:ietf:bcp:47", "code": language}
    extra = {"communication": [{"language": {"coding": [chosen]}}]} if language else {}
    patient_id = book_and_cancel(client, hospital, clinic, **extra)
    assert run_notices(clean, gateway.url) == 1
    [received] = gateway.received
    assert json.loads(received.body)["text"] == text
    found = client.get("/Communication", params={"subject": f"Patient/{patient_id}"}).json()
    [recorded] = [e["resource"] for e in found["entry"]]
    assert recorded["payload"] == [{"contentString": text}]


def test_a_gateway_down_is_retried_then_given_up(
    client: httpx.Client,
    clean: Backend,
    acting_as: Callable[..., httpx.Client],
    gateway: Receiver,
) -> None:
    clinic = open_clinic(client)
    hospital = acting_as(hospital_context(clinic.organization), notify_webhook_url=gateway.url)
    gateway.answer = 503
    book_and_cancel(client, hospital, clinic)
    first_try = clock.now()
    assert run_notices(clean, gateway.url, first_try) == 1
    assert run_notices(clean, gateway.url, first_try) == 0  # waits before again
    gateway.answer = 200
    assert run_notices(clean, gateway.url, first_try + timedelta(minutes=1)) == 1
    assert len(gateway.received) == 1
    gateway.answer = 503
    book_and_cancel(client, hospital, clinic)
    run_notices(clean, gateway.url, clock.now() + timedelta(hours=25))
    gateway.answer = 200
    assert run_notices(clean, gateway.url, clock.now() + timedelta(hours=30)) == 0
    assert len(gateway.received) == 1
