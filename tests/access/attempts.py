"""What the write policy's tests try: a new resource of each type, the existing ones every
role can see, a write by each REST method, and what is stored before and after."""

from datetime import timedelta
from typing import Any

import httpx

from medsvc import clock
from tests.access.world import World
from tests.factories import observation, patient, practitioner, schedule
from tests.scheduling.clinic import booked, parameters, slot_resource

JSON_PATCH = {"Content-Type": "application/json-patch+json"}
SETS_LANGUAGE = [{"op": "add", "path": "/language", "value": "fi"}]
DIRECTORY = ("Organization", "Location", "Practitioner", "Schedule", "Slot")
RESULTS = ("DiagnosticReport", "Observation")


def new_resources(w: World) -> dict[str, dict[str, Any]]:
    """One valid new resource of each type a caller might try to create."""
    subject = {"reference": f"Patient/{w.patient}"}
    attachment = {"contentType": "text/plain", "data": "aGVsbG8="}
    later = (clock.now() + timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    free = w.platform.get(f"/Slot/{w.slots[2]}").json()
    return {
        "Patient": patient("999999-999X"),
        "Observation": observation(f"Patient/{w.patient}"),
        "DiagnosticReport": {
            "resourceType": "DiagnosticReport",
            "status": "registered",
            "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
            "subject": subject,
        },
        "DocumentReference": {
            "resourceType": "DocumentReference",
            "status": "current",
            "subject": subject,
            "content": [{"attachment": attachment}],
        },
        "Binary": {"resourceType": "Binary", **attachment},
        "Specimen": {"resourceType": "Specimen", "subject": subject},
        "ServiceRequest": {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": subject,
        },
        "Provenance": {
            "resourceType": "Provenance",
            "target": [subject],
            "recorded": "2026-11-02T08:30:00+02:00",
            "agent": [{"who": subject}],
        },
        "Appointment": {
            "resourceType": "Appointment",
            "status": "booked",
            "start": free["start"],
            "end": free["end"],
            "slot": [{"reference": f"Slot/{w.slots[2]}"}],
            "participant": [{"actor": subject, "status": "accepted"}],
        },
        "Organization": {"resourceType": "Organization", "name": "Another clinic"},
        "Location": {"resourceType": "Location", "name": "Another clinic's ward"},
        "Practitioner": practitioner("new-doctor"),
        "Schedule": schedule(f"Practitioner/{w.clinic.practitioner}"),
        "Slot": slot_resource(w.clinic.schedule, later),
    }


def existing(w: World) -> dict[str, str]:
    """A resource of each type that every signed-in role can see (or the citizen's own)."""
    return {
        "Patient": w.patient,
        "DiagnosticReport": w.report,
        "Observation": w.observation,
        "Organization": w.clinic.organization,
        "Location": w.clinic.location,
        "Practitioner": w.clinic.practitioner,
        "Schedule": w.clinic.schedule,
        "Slot": w.slots[0],
    }


def attempt(caller: httpx.Client, method: str, resource_type: str, w: World) -> httpx.Response:
    """A write by REST: POST a new resource, or PUT, PATCH or DELETE an existing one."""
    if method == "POST":
        return caller.post(f"/{resource_type}", json=new_resources(w)[resource_type])
    path = f"/{resource_type}/{existing(w)[resource_type]}"
    if method == "DELETE":
        return caller.delete(path)
    if method == "PATCH":
        return caller.patch(path, json=SETS_LANGUAGE, headers=JSON_PATCH)
    current = w.hospital.get(path).json()
    return caller.put(path, json={**current, "language": "fi"})


def refused(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["issue"][0]["code"] == "forbidden"


def versions(w: World) -> dict[str, str]:
    """The stored version of each resource the attempts aim at, read back by the hospital."""
    return {
        f"{t}/{i}": w.hospital.get(f"/{t}/{i}").json()["meta"]["versionId"]
        for t, i in existing(w).items()
    }


def totals(w: World) -> dict[str, int]:
    searchable = [t for t in new_resources(w) if t != "Binary"]
    return {t: w.platform.get(f"/{t}", params={"_count": "0"}).json()["total"] for t in searchable}


def answer(appointment_id: str, actor: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "AppointmentResponse",
        "appointment": {"reference": f"Appointment/{appointment_id}"},
        "actor": {"reference": actor},
        "participantStatus": status,
    }


def book(caller: httpx.Client, **inputs: str) -> dict[str, Any]:
    return booked(caller.post("/Appointment/$book", json=parameters(**inputs)))
