"""Search semantics per parameter type and modifier, over GET and POST _search."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import FHIR_JSON, observation, patient, practitioner, schedule, slot


def post(client: httpx.Client, resource: dict) -> dict:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()


def ids(bundle: dict) -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match"}


def search(client: httpx.Client, resource_type: str, **params: object) -> dict:
    response = client.get(f"/{resource_type}", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset"
    return bundle


@pytest.fixture
def people(client: httpx.Client) -> dict[str, dict]:
    return {
        "aino": post(client, patient("1", "Virtanen", gender="female", birthDate="1980-05-17")),
        "jose": post(client, patient("2", "Hernández", gender="male", birthDate="1990")),
        "eve": post(client, patient("3", "Evans", active=False, birthDate="2001-01-01")),
    }


def test_string_default_exact_contains(client: httpx.Client, people: dict) -> None:
    assert ids(search(client, "Patient", name="virt")) == {people["aino"]["id"]}
    assert ids(search(client, "Patient", name="hernandez")) == {people["jose"]["id"]}
    assert ids(search(client, "Patient", **{"name:exact": "Virtanen"})) == {people["aino"]["id"]}
    assert ids(search(client, "Patient", **{"name:exact": "virtanen"})) == set()
    assert ids(search(client, "Patient", **{"name:contains": "nand"})) == {people["jose"]["id"]}
    assert ids(search(client, "Patient", name="100%")) == set()


def test_token_forms_and_not(client: httpx.Client, people: dict) -> None:
    aino = people["aino"]["id"]
    assert ids(search(client, "Patient", identifier="urn:oid:1.2.246.21|1")) == {aino}
    assert ids(search(client, "Patient", identifier="1")) == {aino}
    assert ids(search(client, "Patient", identifier="urn:other|1")) == set()
    assert ids(search(client, "Patient", identifier="|1")) == set()
    assert len(ids(search(client, "Patient", identifier="urn:oid:1.2.246.21|"))) == 3
    assert ids(search(client, "Patient", gender="female")) == {aino}
    assert ids(search(client, "Patient", **{"gender:not": "female"})) == {
        people["jose"]["id"],
        people["eve"]["id"],
    }
    assert ids(search(client, "Patient", active="false")) == {people["eve"]["id"]}


def test_missing_modifier(client: httpx.Client, people: dict) -> None:
    assert ids(search(client, "Patient", **{"gender:missing": "true"})) == {people["eve"]["id"]}
    assert len(ids(search(client, "Patient", **{"gender:missing": "false"}))) == 2


def test_or_and_and(client: httpx.Client, people: dict) -> None:
    either = search(client, "Patient", gender="female,male")
    assert ids(either) == {people["aino"]["id"], people["jose"]["id"]}
    both = client.get("/Patient", params=[("name", "virtanen"), ("gender", "male")]).json()
    assert ids(both) == set()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1980", {"aino"}),
        ("eq1980-05", {"aino"}),
        ("1980-05-17", {"aino"}),
        ("gt1985", {"jose", "eve"}),
        ("lt1990", {"aino"}),
        ("ge1990", {"jose", "eve"}),
        ("le1990", {"aino", "jose"}),
        ("sa1990", {"eve"}),
        ("eb1990", {"aino"}),
        ("ne1990", {"aino", "eve"}),
        ("1990-06", set()),
        ("ge1990-06-01", {"jose", "eve"}),
    ],
)
def test_date_prefixes_and_precision(
    client: httpx.Client, people: dict, query: str, expected: set
) -> None:
    found = ids(search(client, "Patient", birthdate=query))
    assert found == {people[name]["id"] for name in expected}


def test_date_ap(client: httpx.Client, people: dict) -> None:
    assert people["eve"]["id"] in ids(search(client, "Patient", birthdate="ap2000-06-01"))
    assert people["aino"]["id"] not in ids(search(client, "Patient", birthdate="ap2000-06-01"))


def test_last_updated_and_id(client: httpx.Client, people: dict) -> None:
    assert len(ids(search(client, "Patient", _lastUpdated="gt2000-01-01"))) == 3
    assert ids(search(client, "Patient", _lastUpdated="lt2000-01-01")) == set()
    two = f"{people['aino']['id']},{people['eve']['id']}"
    assert ids(search(client, "Patient", _id=two)) == {people["aino"]["id"], people["eve"]["id"]}


@pytest.fixture
def slots(client: httpx.Client) -> dict[str, dict]:
    doc = post(client, {**practitioner("p1"), "id": None} if False else practitioner("p1"))
    other = post(client, practitioner("p2", "Nieminen"))
    sched = post(client, schedule(f"Practitioner/{doc['id']}"))
    other_sched = post(client, schedule(f"Practitioner/{other['id']}"))
    return {
        "doc": doc,
        "other": other,
        "schedule": sched,
        "morning": post(
            client, slot(f"Schedule/{sched['id']}", "2030-03-10T08:00:00Z", "2030-03-10T08:20:00Z")
        ),
        "noon": post(
            client,
            slot(f"Schedule/{sched['id']}", "2030-03-10T12:00:00Z", "2030-03-10T12:20:00Z", "busy"),
        ),
        "next_day": post(
            client, slot(f"Schedule/{sched['id']}", "2030-03-11T08:00:00Z", "2030-03-11T08:20:00Z")
        ),
        "elsewhere": post(
            client,
            slot(f"Schedule/{other_sched['id']}", "2030-03-10T08:00:00Z", "2030-03-10T08:20:00Z"),
        ),
    }


def test_reference_forms(client: httpx.Client, slots: dict, base_url: str) -> None:
    sched = slots["schedule"]["id"]
    mine = {slots[k]["id"] for k in ("morning", "noon", "next_day")}
    assert ids(search(client, "Slot", schedule=sched)) == mine
    assert ids(search(client, "Slot", schedule=f"Schedule/{sched}")) == mine
    assert ids(search(client, "Slot", schedule=f"{base_url}/Schedule/{sched}")) == mine
    assert ids(search(client, "Slot", **{"schedule:Schedule": sched})) == mine
    assert ids(search(client, "Slot", schedule="Schedule/unknown")) == set()


def test_slot_window_query(client: httpx.Client, slots: dict) -> None:
    params = [
        ("schedule", f"Schedule/{slots['schedule']['id']}"),
        ("start", "ge2030-03-10T00:00:00Z"),
        ("start", "lt2030-03-11T00:00:00Z"),
        ("status", "free"),
    ]
    bundle = client.get("/Slot", params=params).json()
    assert ids(bundle) == {slots["morning"]["id"]}
    assert bundle["total"] == 1


def test_chain_one_level(client: httpx.Client, slots: dict) -> None:
    actor = f"Practitioner/{slots['doc']['id']}"
    expected = {slots[k]["id"] for k in ("morning", "noon", "next_day")}
    assert ids(search(client, "Slot", **{"schedule.actor": actor})) == expected
    by_identifier = search(
        client, "Schedule", **{"actor:Practitioner.identifier": "urn:city:practitioner|p2"}
    )
    assert len(ids(by_identifier)) == 1
    too_deep = "schedule.actor:Location.partof.partof.partof.name"
    deep = client.get("/Slot", params={too_deep: "x"})
    assert deep.status_code == 400
    assert "limited to 4 links" in deep.json()["issue"][0]["diagnostics"]


def test_reference_identifier_modifier(client: httpx.Client) -> None:
    message = post(
        client,
        {
            "resourceType": "Communication",
            "status": "completed",
            "subject": {"identifier": {"system": "urn:mrn", "value": "42"}},
        },
    )
    found = search(client, "Communication", **{"subject:identifier": "urn:mrn|42"})
    assert ids(found) == {message["id"]}


def test_chain_patient_identifier(client: httpx.Client) -> None:
    person = post(client, patient("777"))
    obs = post(client, observation(f"Patient/{person['id']}"))
    post(client, observation("Patient/someone-else"))
    found = search(client, "Observation", **{"patient.identifier": "urn:oid:1.2.246.21|777"})
    assert ids(found) == {obs["id"]}


def test_uri(client: httpx.Client) -> None:
    created = post(client, patient("778", meta={"source": "https://hospital.example/ehr"}))
    post(client, patient("779", meta={"source": "https://hospital.example/ehr/2"}))
    assert ids(search(client, "Patient", _source="https://hospital.example/ehr")) == {created["id"]}
    assert ids(search(client, "Patient", _source="https://hospital.example")) == set()


def test_post_search_equals_get(client: httpx.Client, people: dict) -> None:
    get = search(client, "Patient", gender="female,male", _sort="birthdate")
    post_response = client.post(
        "/Patient/_search", data={"gender": "female,male", "_sort": "birthdate"}
    )
    assert post_response.status_code == 200
    posted = post_response.json()
    assert [e["fullUrl"] for e in posted["entry"]] == [e["fullUrl"] for e in get["entry"]]
    assert posted["total"] == get["total"] == 2


def test_sort_several_keys(client: httpx.Client, people: dict) -> None:
    ordered = search(client, "Patient", _sort="-birthdate")
    assert [e["resource"]["id"] for e in ordered["entry"]] == [
        people["eve"]["id"],
        people["jose"]["id"],
        people["aino"]["id"],
    ]
    by_gender = search(client, "Patient", _sort="gender,-birthdate")
    assert [e["resource"]["id"] for e in by_gender["entry"]] == [
        people["aino"]["id"],
        people["jose"]["id"],
        people["eve"]["id"],
    ]


def test_summary_count_and_elements(client: httpx.Client, people: dict) -> None:
    counted = search(client, "Patient", _summary="count")
    assert counted["total"] == 3
    assert "entry" not in counted
    reduced = search(client, "Patient", _elements="gender", _id=people["aino"]["id"])
    resource = reduced["entry"][0]["resource"]
    assert resource["gender"] == "female"
    assert "name" not in resource
    assert {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
    } in resource["meta"]["tag"]


def test_unknown_parameters_lenient_and_strict(client: httpx.Client, people: dict) -> None:
    lenient = search(client, "Patient", nonsense="1", gender="female")
    assert ids(lenient) == {people["aino"]["id"]}
    self_link = next(link["url"] for link in lenient["link"] if link["relation"] == "self")
    assert "nonsense" not in parse_qs(urlsplit(self_link).query)
    assert "gender" in parse_qs(urlsplit(self_link).query)
    strict = client.get("/Patient", params={"nonsense": "1"}, headers={"Prefer": "handling=strict"})
    assert strict.status_code == 400
    assert strict.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "params",
    [
        {"birthdate": "notadate"},
        {"gender:text": "x"},
        {"_count": "-1"},
        {"_sort": "nonsense"},
        {"_include": "Patient"},
        {"_cursor": "x"},
        {"birthdate": "2024-13-45"},
    ],
)
def test_bad_search_values_are_400(client: httpx.Client, params: dict) -> None:
    response = client.get("/Patient", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_include_and_revinclude(client: httpx.Client, slots: dict) -> None:
    bundle = client.get(
        "/Slot",
        params=[
            ("_id", slots["morning"]["id"]),
            ("_include", "Slot:schedule"),
            ("_include:iterate", "Schedule:actor"),
        ],
    ).json()
    modes = {(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]}
    assert modes == {("Slot", "match"), ("Schedule", "include"), ("Practitioner", "include")}
    assert bundle["total"] == 1
    reverse = client.get(
        "/Schedule", params=[("_id", slots["schedule"]["id"]), ("_revinclude", "Slot:schedule")]
    ).json()
    included = [e["resource"]["id"] for e in reverse["entry"] if e["search"]["mode"] == "include"]
    assert set(included) == {slots[k]["id"] for k in ("morning", "noon", "next_day")}


def test_unknown_type_and_system_search(client: httpx.Client) -> None:
    assert client.get("/Encounter").status_code == 404
    assert client.get("/").status_code == 400
