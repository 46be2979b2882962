"""What the subscription tests share: a receiver on 127.0.0.1, hospitals acting through
their systems, and the delivery job run as the worker runs it."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest

from medsvc import clock, jobs
from medsvc.assembly import fhir_server
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import Clinic, hospital_context, open_clinic
from tests.security.conftest import acting_as
from tests.subscriptions.receiver import Receiver

__all__ = ["acting_as"]
TOPIC = "urn:medsvc:SubscriptionTopic/"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"


@dataclass
class Hospital:
    clinic: Clinic
    http: httpx.Client  # its system's


def subscription(
    topic: str, endpoint: str, content: str = "id-only", **channel: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "Bookings at our sites",
        "criteria": TOPIC + topic,
        "channel": {
            "type": "rest-hook",
            "endpoint": endpoint,
            "payload": "application/fhir+json",
            "_payload": {
                "extension": [{"url": BACKPORT + "backport-payload-content", "valueCode": content}]
            },
            **channel,
        },
    }


def subscribe(hospital: Hospital, topic: str, endpoint: str, **options: Any) -> str:
    response = hospital.http.post(
        "/Subscription", json=subscription(topic, endpoint, **options), headers=FHIR_JSON
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requested"
    return str(response.json()["id"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().up()
    yield found
    found.down()


@pytest.fixture
def hospitals(
    client: httpx.Client, acting_as: Callable[..., httpx.Client]
) -> Callable[[str], Hospital]:
    def open_hospital(name: str) -> Hospital:
        clinic = open_clinic(client, name)
        http = acting_as(hospital_context(clinic.organization), subscription_http_hosts="127.0.0.1")
        return Hospital(clinic, http)

    return open_hospital


@pytest.fixture
def deliver(clean: Backend) -> Callable[..., int]:
    """Runs the delivery job once, as a worker process does (at `now`, by default the clock's);
    each run is a worker of its own."""
    settings = clean.settings.model_copy(update={"subscription_http_hosts": "127.0.0.1"})
    server = fhir_server(settings)

    def run(now: datetime | None = None) -> int:
        job = jobs.delivery_job(server, settings)
        return jobs.run_once(clean.database, job, now or clock.now())

    return run
