"""Chained parameters of more than one link (search.html#chaining), over HTTP on both backends.

The directory below is built so that a chain compiled against the wrong level's rows (a
subquery correlated to an enclosing query's table, or an alias shadowed by the next level's)
gives a wrong answer or none: schedules have several actors of different types, one location
has no organization, and names recur across types.
"""

from collections.abc import Callable

import httpx
import pytest

from medsvc.fhir.search.params import MAX_CHAIN_LINKS
from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON, observation, patient, practitioner, schedule, slot
from tests.security import conftest as security

acting_as = security.acting_as  # a fixture: servers whose callers act under a given context


def post(client: httpx.Client, resource: dict) -> str:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def found(client: httpx.Client, resource_type: str, params: list[tuple[str, str]]) -> set[str]:
    response = client.get(f"/{resource_type}", params=params)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def refused(client: httpx.Client, name: str, *, strict: bool = False) -> str:
    headers = {"Prefer": "handling=strict"} if strict else {}
    response = client.get("/Slot", params={name: "x"}, headers=headers)
    assert response.status_code == 400, response.text
    issue = response.json()["issue"][0]
    assert issue["code"] == "invalid"
    return str(issue["diagnostics"])


def ref(resource_type: str, resource_id: str) -> dict:
    return {"reference": f"{resource_type}/{resource_id}"}


def organization(name: str) -> dict:
    return {"resourceType": "Organization", "name": name}


def location(name: str, org: str | None = None) -> dict:
    managed = {"managingOrganization": ref("Organization", org)} if org else {}
    return {"resourceType": "Location", "name": name, **managed}


def service(name: str, org: str) -> dict:
    return {
        "resourceType": "HealthcareService",
        "name": name,
        "providedBy": ref("Organization", org),
    }


def role(practitioner_id: str, org: str) -> dict:
    return {
        "resourceType": "PractitionerRole",
        "practitioner": ref("Practitioner", practitioner_id),
        "organization": ref("Organization", org),
    }


def schedule_of(client: httpx.Client, *actors: str) -> str:
    made = schedule(actors[0])
    made["actor"] = [{"reference": a} for a in actors]
    return post(client, made)


def slot_in(client: httpx.Client, schedule_id: str, day: int = 1, status: str = "free") -> str:
    start, end = f"2026-12-0{day}T08:00:00Z", f"2026-12-0{day}T08:20:00Z"
    return post(client, slot(f"Schedule/{schedule_id}", start, end, status))


@pytest.fixture
def directory(client: httpx.Client) -> dict[str, str]:
    """Two hospitals and their entries, one schedule per kind of actor, one slot in each."""
    d: dict[str, str] = {}
    d["city"] = post(client, organization("City Hospital"))
    d["harbour"] = post(client, organization("Harbour Clinic"))
    d["laine"] = post(client, practitioner("p-laine", "Laine"))
    d["nieminen"] = post(client, practitioner("p-nieminen", "Nieminen"))
    d["wing"] = post(client, location("Laine Wing", d["city"]))  # a name shared with a doctor
    d["pier"] = post(client, location("Pier Room", d["harbour"]))
    d["van"] = post(client, location("Mobile Unit"))  # no managing organization
    d["cardiology"] = post(client, service("Cardiology", d["city"]))
    d["dental"] = post(client, service("Dental", d["harbour"]))
    d["laine_at_harbour"] = post(client, role(d["laine"], d["harbour"]))
    actors = {
        "laine_in_wing": (f"Practitioner/{d['laine']}", f"Location/{d['wing']}"),
        "nieminen": (f"Practitioner/{d['nieminen']}",),
        "pier": (f"Location/{d['pier']}",),
        "van": (f"Location/{d['van']}",),
        "cardiology": (f"HealthcareService/{d['cardiology']}",),
        "dental": (f"HealthcareService/{d['dental']}",),
        "role": (f"PractitionerRole/{d['laine_at_harbour']}",),
    }
    for name, refs in actors.items():
        d[f"schedule_{name}"] = schedule_of(client, *refs)
        d[f"slot_{name}"] = slot_in(client, d[f"schedule_{name}"])
    return d


def slots_of(d: dict[str, str], *names: str) -> set[str]:
    return {d[f"slot_{name}"] for name in names}


def test_two_links_to_practitioner(client: httpx.Client, directory: dict) -> None:
    d = directory
    by_name = found(client, "Slot", [("schedule.actor:Practitioner.name", "Laine")])
    assert by_name == slots_of(d, "laine_in_wing")
    chain = "schedule.actor:Practitioner.identifier"
    for token in ("urn:city:practitioner|p-nieminen", "p-nieminen"):
        assert found(client, "Slot", [(chain, token)]) == slots_of(d, "nieminen")
    assert found(client, "Slot", [(chain, "urn:x|p-nieminen")]) == set()


def test_links_to_organization_through_each_kind_of_actor(
    client: httpx.Client, directory: dict
) -> None:
    d = directory
    city, harbour = f"Organization/{d['city']}", f"Organization/{d['harbour']}"
    cases = [
        ("schedule.actor:Location.organization", city, {"laine_in_wing"}),
        ("schedule.actor:Location.organization", harbour, {"pier"}),
        ("schedule.actor:HealthcareService.organization", city, {"cardiology"}),
        ("schedule.actor:PractitionerRole.organization", harbour, {"role"}),
        ("schedule.actor:PractitionerRole.organization", city, set()),
        ("schedule.actor:Location.organization.name", "City", {"laine_in_wing"}),
        ("schedule.actor:HealthcareService.organization.name", "harbour", {"dental"}),
        ("schedule.actor:PractitionerRole.practitioner.name", "Laine", {"role"}),
        ("schedule.actor:PractitionerRole.practitioner.identifier", "p-nieminen", set()),
    ]
    for name, value, expected in cases:
        assert found(client, "Slot", [(name, value)]) == slots_of(d, *expected), name


def test_chain_without_type_modifier_searches_every_target(
    client: httpx.Client, directory: dict
) -> None:
    d = directory
    at_harbour = found(client, "Slot", [("schedule.actor.organization.name", "Harbour")])
    assert at_harbour == slots_of(d, "pier", "dental", "role")
    # The doctor Laine and the location "Laine Wing" share a schedule; Laine's role has its own.
    assert found(client, "Slot", [("schedule.actor.name", "laine")]) == slots_of(d, "laine_in_wing")
    org = f"Organization/{d['city']}"
    in_city = found(client, "Schedule", [("actor.organization", org)])
    assert in_city == {d["schedule_laine_in_wing"], d["schedule_cardiology"]}


def test_missing_probe_inside_a_chain(client: httpx.Client, directory: dict) -> None:
    """`:missing` is a correlated EXISTS on the target's own references: compiled against the
    enclosing level's search_reference rows, it fails or answers for the wrong resource."""
    d = directory
    unmanaged = found(client, "Slot", [("schedule.actor:Location.organization:missing", "true")])
    assert unmanaged == slots_of(d, "van")
    managed = found(client, "Slot", [("schedule.actor:Location.organization:missing", "false")])
    assert managed == slots_of(d, "laine_in_wing", "pier")
    everyone = slots_of(
        d, "laine_in_wing", "nieminen", "pier", "van", "cardiology", "dental", "role"
    )
    assert found(client, "Slot", [("schedule.actor:missing", "false")]) == everyone
    assert found(client, "Slot", [("schedule.actor:missing", "true")]) == set()


def test_chain_as_probe_beside_other_criteria(client: httpx.Client, directory: dict) -> None:
    """A reference criterion drives, so the chain runs as a correlated EXISTS on its rows."""
    d = directory
    chain = ("schedule.actor:Location.organization.name", "City")
    mine = ("schedule", f"Schedule/{d['schedule_laine_in_wing']}")
    other = ("schedule", f"Schedule/{d['schedule_pier']}")
    assert found(client, "Slot", [mine, chain]) == slots_of(d, "laine_in_wing")
    assert found(client, "Slot", [other, chain]) == set()
    busy = slot_in(client, d["schedule_laine_in_wing"], day=2, status="busy")
    assert found(client, "Slot", [chain]) == slots_of(d, "laine_in_wing") | {busy}
    assert found(client, "Slot", [chain, ("status", "free")]) == slots_of(d, "laine_in_wing")
    both = [chain, ("schedule.actor:Practitioner.name", "Laine")]
    assert found(client, "Slot", both) == slots_of(d, "laine_in_wing") | {busy}
    assert found(client, "Slot", [chain, ("schedule.actor:Practitioner.name", "Nieminen")]) == set()


def test_deleted_link_breaks_the_chain(client: httpx.Client, directory: dict) -> None:
    d = directory
    chain = [("schedule.actor:Location.organization.name", "Harbour")]
    assert found(client, "Slot", chain) == slots_of(d, "pier")
    assert client.delete(f"/Location/{d['pier']}").status_code in (200, 204)
    assert found(client, "Slot", chain) == set()
    assert client.delete(f"/Organization/{d['city']}").status_code in (200, 204)
    assert found(client, "Slot", [("schedule.actor.organization.name", "City")]) == set()


def test_depth_limit(client: httpx.Client, directory: dict) -> None:
    deepest = "schedule.actor:Location.partof.partof.name"
    assert deepest.count(".") == MAX_CHAIN_LINKS
    assert found(client, "Slot", [(deepest, "x")]) == set()
    too_deep = "schedule.actor:Location.partof.partof.partof.name"
    assert f"limited to {MAX_CHAIN_LINKS} links" in refused(client, too_deep)


def test_malformed_chains_are_refused(client: httpx.Client, directory: dict) -> None:
    assert "Only reference parameters" in refused(client, "schedule.actor:Practitioner.name.x")
    assert "Only reference parameters" in refused(client, "schedule.actor.name.x")
    assert "not a target" in refused(client, "schedule.actor:Organization.name")
    assert "not a target" in refused(client, "schedule:Patient.name")


def test_unknown_parameter_at_the_end_of_a_chain(client: httpx.Client, directory: dict) -> None:
    name = "schedule.actor:Location.organization.nonsense"
    assert len(found(client, "Slot", [(name, "x")])) == 7  # ignored, as any unknown parameter
    assert "nonsense" in refused(client, name, strict=True)


def test_every_link_is_narrowed_to_what_the_caller_sees(
    client: httpx.Client, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    """A citizen's Observation may name them as performer and someone else as subject: the
    chain through that subject must not see the other patient (DESIGN: chains are narrowed)."""
    laine = post(client, practitioner("p-laine", "Laine"))
    with_gp = {"generalPractitioner": [ref("Practitioner", laine)]}
    me = post(client, patient("1", "Virtanen", **with_gp))
    other = post(client, patient("2", "Korhonen", **with_gp))
    about_me = post(client, observation(f"Patient/{me}"))
    by_me = post(client, {**observation(f"Patient/{other}"), "performer": [ref("Patient", me)]})
    theirs = post(client, observation(f"Patient/{other}"))
    chain = [("subject:Patient.general-practitioner:Practitioner.name", "Laine")]
    assert found(client, "Observation", chain) == {about_me, by_me, theirs}
    scopes = frozenset({"patient/*.rs"})
    citizen = acting_as(AuthContext(subject=me, patient=f"Patient/{me}", scopes=scopes))
    assert found(citizen, "Observation", [("_id", f"{about_me},{by_me}")]) == {about_me, by_me}
    assert found(citizen, "Observation", chain) == {about_me}
