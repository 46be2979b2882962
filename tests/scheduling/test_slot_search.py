"""Citizens' Slot search (booking issue, item 2) over HTTP: free slots in a time window, by
service type and specialty, through the schedule's actors up to the hospital, with the
schedules and actors included and the slots in start order."""

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest

from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON, practitioner, schedule, slot

SERVICE_TYPE = "http://terminology.hl7.org/CodeSystem/service-type"
SNOMED = "http://snomed.info/sct"
GENERAL_PRACTICE, CARDIOLOGY = "394814009", "394579002"
DAY = [("start", "ge2026-12-01T00:00:00Z"), ("start", "lt2026-12-02T00:00:00Z")]
FREE_THAT_DAY = [("status", "free"), *DAY]


def post(client: httpx.Client, resource: dict) -> str:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def bundle(client: httpx.Client, params: list[tuple[str, str]]) -> dict:
    response = client.get("/Slot", params=params)
    assert response.status_code == 200, response.text
    found: dict = response.json()
    return found


def matches(client: httpx.Client, params: list[tuple[str, str]]) -> list[str]:
    entries = bundle(client, params).get("entry", [])
    return [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"]


def ref(resource_type: str, resource_id: str) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def concept(system: str, code: str) -> list[dict]:
    return [{"coding": [{"system": system, "code": code}]}]


def schedule_of(client: httpx.Client, *actors: str) -> str:
    return post(client, {**schedule(actors[0]), "actor": [{"reference": a} for a in actors]})


def slot_at(
    client: httpx.Client,
    schedule_id: str,
    start: str,
    status: str = "free",
    *,
    service: str = "124",
    specialty: str = GENERAL_PRACTICE,
) -> str:
    """A 20-minute slot starting at `start` (month-dayThh:mm, UTC) in 2026."""
    begins = datetime.fromisoformat(f"2026-{start}+00:00")
    ends = begins + timedelta(minutes=20)
    made = slot(f"Schedule/{schedule_id}", begins.isoformat(), ends.isoformat(), status)
    made["serviceType"] = concept(SERVICE_TYPE, service)
    made["specialty"] = concept(SNOMED, specialty)
    return post(client, made)


@pytest.fixture
def city(client: httpx.Client) -> dict[str, str]:
    """A city hospital (a doctor in a wing, a cardiology service, a role) and a harbour clinic."""
    d: dict[str, str] = {}
    d["city"] = post(client, {"resourceType": "Organization", "name": "City Hospital"})
    d["harbour"] = post(client, {"resourceType": "Organization", "name": "Harbour Clinic"})
    d["laine"] = post(client, practitioner("p-laine", "Laine"))
    d["nieminen"] = post(client, practitioner("p-nieminen", "Nieminen"))
    wing = {"name": "Central Wing", "managingOrganization": ref("Organization", d["city"])}
    d["wing"] = post(client, {"resourceType": "Location", **wing})
    pier = {"name": "Pier Room", "managingOrganization": ref("Organization", d["harbour"])}
    d["pier"] = post(client, {"resourceType": "Location", **pier})
    cardiology = {"name": "Cardiology", "providedBy": ref("Organization", d["city"])}
    d["cardiology"] = post(client, {"resourceType": "HealthcareService", **cardiology})
    role = {
        "practitioner": ref("Practitioner", d["nieminen"]),
        "organization": ref("Organization", d["city"]),
    }
    d["role"] = post(client, {"resourceType": "PractitionerRole", **role})
    d["doctor_in_wing"] = schedule_of(client, f"Practitioner/{d['laine']}", f"Location/{d['wing']}")
    d["service"] = schedule_of(client, f"HealthcareService/{d['cardiology']}")
    d["by_role"] = schedule_of(client, f"PractitionerRole/{d['role']}")
    d["at_pier"] = schedule_of(client, f"Practitioner/{d['nieminen']}", f"Location/{d['pier']}")
    # Created out of time order, so that only _sort puts them in it.
    d["pier_slot"] = slot_at(client, d["at_pier"], "12-01T12:00")
    d["next_day"] = slot_at(client, d["doctor_in_wing"], "12-02T00:00")
    d["heart"] = slot_at(client, d["service"], "12-01T10:00", service="394", specialty=CARDIOLOGY)
    d["morning"] = slot_at(client, d["doctor_in_wing"], "12-01T08:00")
    d["day_before"] = slot_at(client, d["doctor_in_wing"], "11-30T23:40")
    d["role_slot"] = slot_at(client, d["by_role"], "12-01T11:00")
    d["busy"] = slot_at(client, d["doctor_in_wing"], "12-01T09:00", "busy")
    d["midnight"] = slot_at(client, d["doctor_in_wing"], "12-01T00:00")
    return d


def named(d: dict[str, str], *names: str) -> list[str]:
    return [d[name] for name in names]


IN_ORDER = ("midnight", "morning", "heart", "role_slot", "pier_slot")


def test_free_slots_of_a_day_in_start_order(client: httpx.Client, city: dict) -> None:
    found = bundle(client, [*FREE_THAT_DAY, ("_sort", "start")])
    assert [e["resource"]["id"] for e in found["entry"]] == named(city, *IN_ORDER)
    assert found["total"] == len(IN_ORDER)
    latest_first = matches(client, [*FREE_THAT_DAY, ("_sort", "-start")])
    assert latest_first == named(city, *reversed(IN_ORDER))
    with_busy = matches(client, [*DAY, ("_sort", "start")])
    assert with_busy == named(
        city, "midnight", "morning", "busy", "heart", "role_slot", "pier_slot"
    )


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("service-type", f"{SERVICE_TYPE}|394", {"heart"}),
        ("service-type", "394", {"heart"}),
        ("service-type", "urn:other|394", set()),
        ("service-type", f"{SERVICE_TYPE}|124", set(IN_ORDER) - {"heart"}),
        ("specialty", f"{SNOMED}|{CARDIOLOGY}", {"heart"}),
        ("specialty", CARDIOLOGY, {"heart"}),
        ("specialty", f"{SERVICE_TYPE}|{CARDIOLOGY}", set()),
        ("specialty", f"{CARDIOLOGY},{GENERAL_PRACTICE}", set(IN_ORDER)),
    ],
)
def test_service_type_and_specialty(
    client: httpx.Client, city: dict, param: str, value: str, expected: set
) -> None:
    assert set(matches(client, [*FREE_THAT_DAY, (param, value)])) == set(named(city, *expected))


@pytest.mark.parametrize(
    ("chain", "value", "expected"),
    [
        ("schedule.actor:Practitioner.name", "Laine", {"midnight", "morning"}),
        (
            "schedule.actor:Practitioner.identifier",
            "urn:city:practitioner|p-laine",
            {"midnight", "morning"},
        ),
        ("schedule.actor:Practitioner.identifier", "p-nieminen", {"pier_slot"}),
        ("schedule.actor:Location.name", "central", {"midnight", "morning"}),
        ("schedule.actor:HealthcareService.name", "Cardiology", {"heart"}),
        ("schedule.actor:Location.organization", "city", {"midnight", "morning"}),
        ("schedule.actor:Location.organization", "harbour", {"pier_slot"}),
        ("schedule.actor:HealthcareService.organization", "city", {"heart"}),
        ("schedule.actor:PractitionerRole.organization", "city", {"role_slot"}),
        ("schedule.actor.organization", "city", {"midnight", "morning", "heart", "role_slot"}),
        ("schedule.actor:Location.organization.name", "City", {"midnight", "morning"}),
        ("schedule.actor.organization.name", "Harbour", {"pier_slot"}),
    ],
)
def test_chains_through_the_schedules_actors(
    client: httpx.Client, city: dict, chain: str, value: str, expected: set
) -> None:
    if value in ("city", "harbour"):
        value = f"Organization/{city[value]}"
    found = matches(client, [*FREE_THAT_DAY, (chain, value)])
    assert set(found) == set(named(city, *expected))


def included(found: dict) -> set[tuple[str, str]]:
    return {
        (e["resource"]["resourceType"], e["resource"]["id"])
        for e in found["entry"]
        if e["search"]["mode"] == "include"
    }


INCLUDES = [("_include", "Slot:schedule"), ("_include:iterate", "Schedule:actor")]


def test_schedules_and_their_actors_are_included(client: httpx.Client, city: dict) -> None:
    d = city
    laine = [("schedule.actor:Practitioner.name", "Laine"), ("_sort", "start")]
    found = bundle(client, [*FREE_THAT_DAY, *laine, *INCLUDES])
    assert [e["resource"]["id"] for e in found["entry"][:2]] == named(d, "midnight", "morning")
    assert included(found) == {
        ("Schedule", d["doctor_in_wing"]),
        ("Practitioner", d["laine"]),
        ("Location", d["wing"]),
    }
    assert found["total"] == 2
    everything = bundle(client, [*FREE_THAT_DAY, *INCLUDES])
    assert {t for t, _ in included(everything)} == {
        "Schedule",
        "Practitioner",
        "Location",
        "HealthcareService",
        "PractitionerRole",
    }
    assert ("Location", d["pier"]) in included(everything)
    without_iterate = bundle(client, [*FREE_THAT_DAY, INCLUDES[0]])
    assert {t for t, _ in included(without_iterate)} == {"Schedule"}


def test_a_citizen_finds_free_slots_at_a_hospital(
    client: httpx.Client, city: dict, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    """The query a citizen's app makes: free slots tomorrow at City Hospital, in time order,
    with what it needs to show them (the schedule, the doctor or service, the place)."""
    citizen = acting_as(
        AuthContext(subject="c-1", patient="Patient/c-1", scopes=frozenset({"patient/*.rs"}))
    )
    hospital = ("schedule.actor.organization.name", "City Hospital")
    query = [*FREE_THAT_DAY, hospital, ("_sort", "start"), *INCLUDES]
    found = bundle(citizen, query)
    in_order = [e["resource"]["id"] for e in found["entry"] if e["search"]["mode"] == "match"]
    assert in_order == named(city, "midnight", "morning", "heart", "role_slot")
    assert found["total"] == 4
    assert ("Location", city["wing"]) in included(found)
    assert ("HealthcareService", city["cardiology"]) in included(found)
    assert ("Location", city["pier"]) not in included(found)
    assert in_order == matches(client, query)
