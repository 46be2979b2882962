"""The city's directory as the app reads it from the API: names of practitioners, places and
hospitals by reference, and free times from Appointment/$find grouped for a page."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medsvc.web import display
from medsvc.web.person import Person
from medsvc.web.reads import fhir_json

WINDOW_DAYS = 14  # how far ahead the app offers times
MOST_OFFERED = 1000  # $find's answer is bounded (the server's largest page)


@dataclass(frozen=True)
class FreeTime:
    slot: str  # Slot/id
    start: str
    doctor: str  # Practitioner/id
    service: str


def free_times(bundle: dict[str, Any]) -> list[FreeTime]:
    found = []
    for proposal in display.matches(bundle):
        slots = proposal.get("slot") or [{}]
        actors = [
            str(((p or {}).get("actor") or {}).get("reference", ""))
            for p in proposal.get("participant") or []
        ]
        doctor = next((a for a in actors if a.startswith("Practitioner/")), "")
        service = display.concept_text(proposal.get("serviceType")) or display.concept_text(
            proposal.get("specialty")
        )
        found.append(
            FreeTime(
                str(slots[0].get("reference", "")), str(proposal.get("start", "")), doctor, service
            )
        )
    return found


async def find(person: Person, start: datetime, end: datetime, **narrowed: str) -> list[FreeTime]:
    """Free times from $find as the person: a read, never holding anything."""
    params = {
        "start": display.instant(start),
        "end": display.instant(end),
        "_count": str(MOST_OFFERED),
        **narrowed,
    }
    response = await person.api.fhir("GET", "Appointment/$find", person.token, params=params)
    if response.status_code != 200:
        return []
    return free_times(display.read_json(response.content, person.api.language))


def departments(roles: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """A PractitionerRole search's active roles as departments (the role's specialty, FHIR's
    "specific specialty of the practitioner" in that organization), each with its doctors'
    ids and names, both in alphabetical order; a role without a specialty is under "". Only
    this server's Practitioners are listed, by a reference the app's links can carry."""
    doctors = display.included(roles)
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for role in display.matches(roles):
        reference = str((role.get("practitioner") or {}).get("reference", ""))
        kind, _, doctor_id = reference.partition("/_history/")[0].partition("/")
        if role.get("active") is False or kind != "Practitioner":
            continue
        if not display.FHIR_ID.fullmatch(doctor_id):  # another server's, or not a reference
            continue
        named = display.resource_name(doctors.get(f"Practitioner/{doctor_id}"))
        found[display.concept_text(role.get("specialty"))][doctor_id] = named
    return [
        (department, sorted(people.items(), key=lambda person: (person[1], person[0])))
        for department, people in sorted(found.items(), key=lambda item: (not item[0], item[0]))
    ]


async def names(person: Person, kind: str, references: set[str]) -> dict[str, str]:
    """Display names of resources of a type, by "Type/id", in one search."""
    ids = sorted(r.partition("/")[2] for r in references if r.startswith(f"{kind}/"))
    ids = [i for i in ids if display.FHIR_ID.fullmatch(i)]
    if not ids:
        return {}
    bundle = await fhir_json(person, kind, {"_id": ",".join(ids), "_count": str(len(ids))})
    return {f"{kind}/{r.get('id')}": display.resource_name(r) for r in display.matches(bundle)}
