"""The authorization matrix: who sees and writes what, on every read path (read, vread,
history, search, chains, _include, _revinclude, transaction and batch entries, $validate),
and the IDOR cases where one citizen reaches for another's records."""

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from medsvc.audit import trail as audit_trail
from medsvc.security.context import AuthContext
from tests.factories import (
    FHIR_JSON,
    REPORT_ESSENTIALS,
    observation,
    patient,
    practitioner,
    schedule,
    slot,
)


@dataclass
class World:
    """Two citizens, two doctors, a hospital's directory and records linking them."""

    ids: dict[str, str]

    def ref(self, name: str) -> str:
        kind = {"A": "Patient", "B": "Patient", "D1": "Practitioner", "D2": "Practitioner"}
        return f"{kind.get(name) or TYPES[name]}/{self.ids[name]}"


TYPES = {
    "org": "Organization",
    "loc": "Location",
    "sched": "Schedule",
    "slot": "Slot",
    "apA": "Appointment",
    "apB": "Appointment",
    "obA": "Observation",
    "obA2": "Observation",
    "obB": "Observation",
    "drA": "DiagnosticReport",
    "drB": "DiagnosticReport",
    "srB": "ServiceRequest",
    "audit": "AuditEvent",
    "A": "Patient",
    "B": "Patient",
    "D1": "Practitioner",
    "D2": "Practitioner",
}


def _lab(subject: str, category: str, code: str = "2160-0") -> dict:
    category_coding = {
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": category,
    }
    return {**observation(subject, code), "category": [{"coding": [category_coding]}]}


def _appointment(*actors: str) -> dict:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "start": "2030-01-07T08:00:00Z",
        "end": "2030-01-07T08:20:00Z",
        "participant": [{"actor": {"reference": a}, "status": "accepted"} for a in actors],
    }


def _report(subject: str, performer: str, result: str | None = None) -> dict:
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "panel"},
        "subject": {"reference": subject},
        "performer": [{"reference": performer}],
        **REPORT_ESSENTIALS,
    }
    return report | ({"result": [{"reference": result}]} if result else {})


@pytest.fixture
def world(client: httpx.Client) -> World:
    ids: dict[str, str] = {}

    def create(name: str, resource: dict) -> None:
        response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]

    create("A", patient("1", "Aalto"))
    create("B", patient("2", "Berg"))
    create("D1", practitioner("d1", "Doe"))
    create("D2", practitioner("d2", "Dahl"))
    create("org", {"resourceType": "Organization", "name": "City Hospital"})
    create(
        "loc",
        {
            "resourceType": "Location",
            "name": "Ward 1",
            "managingOrganization": {"reference": f"Organization/{ids['org']}"},
        },
    )
    create("sched", schedule(f"Practitioner/{ids['D1']}"))
    create("slot", slot(f"Schedule/{ids['sched']}", "2030-01-07T08:00:00Z", "2030-01-07T08:20:00Z"))
    create("apA", _appointment(f"Patient/{ids['A']}", f"Practitioner/{ids['D1']}"))
    create("apB", _appointment(f"Patient/{ids['B']}", f"Practitioner/{ids['D2']}"))
    create("obA", _lab(f"Patient/{ids['A']}", "laboratory"))
    create("obA2", _lab(f"Patient/{ids['A']}", "vital-signs", "8867-4"))
    create("obB", _lab(f"Patient/{ids['B']}", "laboratory"))
    create(
        "drA",
        _report(f"Patient/{ids['A']}", f"Practitioner/{ids['D1']}", f"Observation/{ids['obA']}"),
    )
    create(
        "drB",
        _report(f"Patient/{ids['B']}", f"Practitioner/{ids['D2']}", f"Observation/{ids['obB']}"),
    )
    create(
        "srB",
        {
            "resourceType": "ServiceRequest",
            "status": "active",
            "intent": "order",
            "subject": {"reference": f"Patient/{ids['B']}"},
            "requester": {"reference": f"Practitioner/{ids['D1']}"},
        },
    )
    audit_trail.flush_all()  # the platform's requests above were audited: take one record
    recorded = client.get("/AuditEvent", params={"_count": "1"}).json()
    ids["audit"] = recorded["entry"][0]["resource"]["id"]
    return World(ids)


def citizen(world: World, name: str = "A", scope: str = "patient/*.cruds") -> AuthContext:
    return AuthContext(
        subject=f"acct-{name}",
        client_id="app",
        patient=world.ref(name),
        scopes=frozenset(scope.split()),
    )


def doctor(world: World, name: str = "D1") -> AuthContext:
    return AuthContext(
        subject=f"acct-{name}",
        client_id="app",
        practitioner=world.ref(name),
        scopes=frozenset({"user/*.cruds"}),
    )


def admin() -> AuthContext:
    return AuthContext(
        subject="acct-ops", client_id="console", role="admin", scopes=frozenset({"user/*.rs"})
    )


def hospital() -> AuthContext:
    return AuthContext(
        subject="lab",
        client_id="lab",
        organization="Organization/x",
        scopes=frozenset({"system/*.cruds"}),
    )


DIRECTORY = {"org", "loc", "sched", "slot", "D1", "D2"}
SEES = {
    "citizen A": DIRECTORY | {"A", "apA", "obA", "obA2", "drA"},
    # D1 has a booked appointment with A, and requested an order for B: that order only
    "doctor D1": DIRECTORY | {"A", "apA", "obA", "obA2", "drA", "srB"},
    "hospital": DIRECTORY,
    "admin": DIRECTORY | {"audit"},
}


def contexts(world: World) -> dict[str, AuthContext]:
    return {
        "citizen A": citizen(world),
        "doctor D1": doctor(world),
        "hospital": hospital(),
        "admin": admin(),
    }


def visible_by_every_path(http: httpx.Client, world: World, name: str) -> dict[str, bool]:
    """Whether each read path shows the resource; they must all agree."""
    kind, rid = TYPES[name], world.ids[name]
    searched = http.get(f"/{kind}", params={"_id": rid}).json()
    posted = http.post(f"/{kind}/_search", data={"_id": rid}).json()
    batch = http.post(
        "/",
        json={
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": f"{kind}/{rid}"}}],
        },
        headers=FHIR_JSON,
    ).json()
    return {
        "read": http.get(f"/{kind}/{rid}").status_code == 200,
        "vread": http.get(f"/{kind}/{rid}/_history/1").status_code == 200,
        "history": http.get(f"/{kind}/{rid}/_history").status_code == 200,
        "type history": any(
            e["resource"]["id"] == rid
            for e in http.get(f"/{kind}/_history", params={"_count": "1000"})
            .json()
            .get("entry", [])
        ),
        "search": searched["total"] == 1,
        "POST search": posted["total"] == 1,
        "batch GET": batch["entry"][0]["response"]["status"].startswith("200"),
        "$validate": http.post(f"/{kind}/{rid}/$validate").status_code == 200,
    }


@pytest.mark.parametrize("who", list(SEES))
def test_every_read_path_shows_exactly_the_compartment(
    world: World, acting_as: Callable[[AuthContext], httpx.Client], who: str
) -> None:
    http = acting_as(contexts(world)[who])
    for name in TYPES:
        paths = visible_by_every_path(http, world, name)
        expected = name in SEES[who]
        assert paths == dict.fromkeys(paths, expected), (who, name, paths)


def test_hidden_and_missing_look_the_same(
    world: World, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    http = acting_as(citizen(world))
    hidden = http.get(f"/Observation/{world.ids['obB']}")
    missing = http.get("/Observation/00000000-0000-0000-0000-000000000000")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["issue"][0]["code"] == missing.json()["issue"][0]["code"]


def test_idor_searches_chains_and_includes_stay_inside(
    world: World, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    http = acting_as(citizen(world))
    b = world.ref("B")

    def ids(path: str, **params: str) -> set[str]:
        bundle = http.get(path, params=params).json()
        return {e["resource"]["id"] for e in bundle.get("entry", [])}

    a_only = {world.ids[n] for n in ("obA", "obA2")}
    assert ids("/Observation", subject=b) == set()
    assert ids("/Observation", patient=world.ids["B"]) == set()
    assert ids("/Observation", **{"subject:Patient.name": "Berg"}) == set()
    assert ids("/Observation", **{"subject.identifier": "urn:oid:1.2.246.21|2"}) == set()
    assert ids("/Observation") == a_only
    assert ids("/Observation", code="2160-0") == {world.ids["obA"]}
    included = ids("/DiagnosticReport", _include="DiagnosticReport:result")
    assert included == {world.ids["drA"], world.ids["obA"]}
    # subject may name a Patient, Group, Device or Location: each is filtered as the caller's
    assert ids("/Observation", _include="Observation:subject") == a_only | {world.ids["A"]}
    assert ids("/Patient", _revinclude="Observation:subject") == {world.ids["A"]} | a_only
    iterate = ids(
        "/Slot", _revinclude="Appointment:slot", **{"_include:iterate": "Appointment:patient"}
    )
    assert iterate == {world.ids["slot"]}
    history = http.get(f"/Observation/{world.ids['obB']}/_history")
    assert history.status_code == 404


def test_scopes_bound_includes_and_granular_queries(
    world: World, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    appointments_only = acting_as(citizen(world, scope="patient/Appointment.rs"))
    bundle = appointments_only.get("/Appointment", params={"_include": "Appointment:patient"})
    assert [e["resource"]["resourceType"] for e in bundle.json()["entry"]] == ["Appointment"]
    assert appointments_only.get(f"/Patient/{world.ids['A']}").status_code == 403
    lab = acting_as(citizen(world, scope="patient/Observation.rs?category=laboratory"))
    found = lab.get("/Observation").json()
    assert [e["resource"]["id"] for e in found["entry"]] == [world.ids["obA"]]
    assert lab.get(f"/Observation/{world.ids['obA2']}").status_code == 404


def count(client: httpx.Client, kind: str) -> int:
    return int(client.get(f"/{kind}", params={"_summary": "count"}).json()["total"])


def test_writes_stay_in_the_writers_compartments(
    world: World, acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    http = acting_as(doctor(world, "D2"))  # who cares for B only (citizens write no results)
    before = count(client, "Observation")
    own = http.post("/Observation", json=observation(world.ref("B")), headers=FHIR_JSON)
    assert own.status_code == 201
    for refused in [
        http.post("/Observation", json=observation(world.ref("A")), headers=FHIR_JSON),
        http.post("/Location", json={"resourceType": "Location", "name": "x"}, headers=FHIR_JSON),
        http.put(
            f"/Slot/{world.ids['slot']}",
            headers=FHIR_JSON,
            json={
                **slot(world.ref("sched"), "2030-01-07T08:00:00Z", "2030-01-07T08:20:00Z", "busy"),
                "id": world.ids["slot"],
            },
        ),
        http.put(
            f"/Observation/{world.ids['obB']}",
            headers=FHIR_JSON,
            json={**observation(world.ref("A")), "id": world.ids["obB"]},
        ),
    ]:
        assert refused.status_code == 403, refused.text
    for hidden in [
        http.put(
            f"/Observation/{world.ids['obA']}",
            headers=FHIR_JSON,
            json={**observation(world.ref("B")), "id": world.ids["obA"]},
        ),
        http.delete(f"/Observation/{world.ids['obA']}"),
        http.put(
            "/Observation/chosen-id",
            headers=FHIR_JSON,
            json={**observation(world.ref("B")), "id": "chosen-id"},
        ),
    ]:
        assert hidden.status_code == 404, hidden.text
    assert count(client, "Observation") == before + 1
    assert client.get(f"/Observation/{world.ids['obB']}").json()["subject"][
        "reference"
    ] == world.ref("B")
    assert client.get(f"/Slot/{world.ids['slot']}").json()["status"] == "free"


def test_a_transaction_with_one_foreign_entry_writes_nothing(
    world: World, acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    http = acting_as(citizen(world))
    before = count(client, "Observation")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": observation(world.ref("A")),
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "resource": observation(world.ref("B")),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    assert http.post("/", json=bundle, headers=FHIR_JSON).status_code == 403
    assert count(client, "Observation") == before


def test_hospital_without_ownership_writes_nothing(
    world: World, acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    http = acting_as(hospital())
    created = http.post("/Observation", json=observation(world.ref("A")), headers=FHIR_JSON)
    assert created.status_code == 403
    assert count(client, "Observation") == 3


def test_a_citizen_cannot_file_into_another_record(
    world: World, acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    http = acting_as(citizen(world))
    injected = {**observation(world.ref("A")), "performer": [{"reference": world.ref("B")}]}
    assert http.post("/Observation", json=injected, headers=FHIR_JSON).status_code == 403
    assert count(client, "Observation") == 3
