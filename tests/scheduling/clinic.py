"""A hospital's directory for the booking tests: an organization, a location, a doctor, a
schedule, and slots in it; and the contexts citizens and hospital systems act under."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from medsvc import clock
from medsvc.fhir.datetimes import format_instant
from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON, patient, practitioner, schedule

Open = Callable[[AuthContext], httpx.Client]  # the acting_as fixture
CAPACITY_URL = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"
CARDIOLOGY = {"coding": [{"system": "http://snomed.info/sct", "code": "394579002"}]}


@dataclass
class Clinic:
    organization: str
    location: str
    practitioner: str
    schedule: str


def created(client: httpx.Client, resource: dict[str, Any]) -> str:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def open_clinic(client: httpx.Client, name: str = "City Hospital") -> Clinic:
    org = created(client, {"resourceType": "Organization", "name": name})
    location = created(
        client,
        {
            "resourceType": "Location",
            "name": f"{name} outpatients",
            "managingOrganization": {"reference": f"Organization/{org}"},
        },
    )
    doctor = created(client, practitioner(code=f"{name}-dr"))
    created(
        client,
        {
            "resourceType": "PractitionerRole",
            "practitioner": {"reference": f"Practitioner/{doctor}"},
            "organization": {"reference": f"Organization/{org}"},
        },
    )
    sched = schedule(f"Practitioner/{doctor}")
    sched["actor"].append({"reference": f"Location/{location}"})
    sched["serviceType"] = [CARDIOLOGY]
    return Clinic(org, location, doctor, created(client, sched))


def slot_resource(
    schedule_id: str, start: datetime, minutes: int = 20, capacity: int = 1
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Slot",
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "status": "free",
        "serviceType": [CARDIOLOGY],
        "start": format_instant(start),
        "end": format_instant(start + timedelta(minutes=minutes)),
    }
    if capacity != 1:
        resource["extension"] = [{"url": CAPACITY_URL, "valueInteger": capacity}]
    return resource


def add_slots(
    client: httpx.Client,
    schedule_id: str,
    count: int,
    *,
    first: datetime | None = None,
    minutes: int = 20,
    capacity: int = 1,
) -> list[str]:
    """Consecutive slots, the first three days from now on the hour unless given."""
    start = first or (clock.now() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    entries = [
        {
            "resource": slot_resource(
                schedule_id, start + timedelta(minutes=minutes * i), minutes, capacity
            ),
            "request": {"method": "POST", "url": "Slot"},
        }
        for i in range(count)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = client.post("", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    return [
        e["response"]["location"].split("Slot/")[1].split("/")[0] for e in response.json()["entry"]
    ]


def add_patient(client: httpx.Client, mrn: str) -> str:
    return created(client, patient(mrn=mrn))


def citizen_context(patient_id: str) -> AuthContext:
    return AuthContext(
        subject=f"citizen-{patient_id}",
        client_id="city-app",
        patient=f"Patient/{patient_id}",
        role="patient",
        scopes=frozenset({"patient/*.cruds"}),
    )


def practitioner_context(practitioner_id: str) -> AuthContext:
    return AuthContext(
        subject=f"doctor-{practitioner_id}",
        client_id="clinic-app",
        practitioner=f"Practitioner/{practitioner_id}",
        role="practitioner",
        scopes=frozenset({"user/*.cruds"}),
    )


def hospital_context(org_id: str) -> AuthContext:
    return AuthContext(
        subject="hospital-system",
        client_id="hospital-system",
        organization=f"Organization/{org_id}",
        scopes=frozenset({"system/*.cruds"}),
    )


def parameters(**values: Any) -> dict[str, Any]:
    """A Parameters body: strings as valueString, dicts as resources, lists repeated."""
    entries = []
    for name, value in values.items():
        name = name[:1] + name[1:].replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                entries.append({"name": name, "resource": item})
            else:
                entries.append({"name": name, "valueString": str(item)})
    return {"resourceType": "Parameters", "parameter": entries}


def booked(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert len(bundle["entry"]) == 1
    return dict(bundle["entry"][0]["resource"])
