"""A hospital system's view: the directory entries it owns and publishes, the results it
pushes for patients it names by identifier, the appointments at its sites, and never
another hospital's records."""

from collections.abc import Callable

import httpx
import pytest

from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON, observation, patient, schedule, slot

MRN = "urn:oid:1.2.246.21|111"


def system(org_id: str) -> AuthContext:
    return AuthContext(
        subject=f"lab-{org_id}",
        client_id=f"lab-{org_id}",
        organization=f"Organization/{org_id}",
        scopes=frozenset({"system/*.cruds"}),
    )


def post(client: httpx.Client, resource: dict) -> str:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture
def orgs(client: httpx.Client) -> dict[str, str]:
    return {
        name: post(client, {"resourceType": "Organization", "name": name})
        for name in ("City Hospital", "East Lab")
    }


def entry(resource: dict, full_url: str | None = None) -> dict:
    found = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {"fullUrl": full_url, **found} if full_url else found


def created_id(response_entry: dict) -> str:
    """The id in a transaction response's location, [base/]Type/id/_history/n."""
    return str(response_entry["response"]["location"].split("/_history")[0].rsplit("/", 1)[1])


def transaction(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def publish(http: httpx.Client, org_id: str) -> dict[str, str]:
    """Location, practitioner, role, schedule and slot of a hospital, in one transaction."""
    bundle = transaction(
        entry(
            {
                "resourceType": "Location",
                "name": "Ward",
                "managingOrganization": {"reference": f"Organization/{org_id}"},
            },
            "urn:uuid:loc",
        ),
        entry({"resourceType": "Practitioner", "name": [{"family": "Doe"}]}, "urn:uuid:doc"),
        entry(
            {
                "resourceType": "PractitionerRole",
                "organization": {"reference": f"Organization/{org_id}"},
                "practitioner": {"reference": "urn:uuid:doc"},
            }
        ),
        entry(schedule("urn:uuid:doc"), "urn:uuid:sched"),
        entry(slot("urn:uuid:sched", "2030-01-07T08:00:00Z", "2030-01-07T08:20:00Z")),
    )
    response = http.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    names = ["loc", "doc", "role", "sched", "slot"]
    return {n: created_id(e) for n, e in zip(names, response.json()["entry"], strict=True)}


def test_a_hospital_publishes_its_own_directory_only(
    orgs: dict[str, str], acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    city, east = orgs["City Hospital"], orgs["East Lab"]
    own = publish(acting_as(system(city)), city)
    intruder = acting_as(system(east))
    refused = [
        intruder.post(
            "/Slot",
            json=slot(f"Schedule/{own['sched']}", "2030-01-08T08:00:00Z", "2030-01-08T08:20:00Z"),
            headers=FHIR_JSON,
        ),
        intruder.put(
            f"/Location/{own['loc']}",
            headers=FHIR_JSON,
            json={
                "resourceType": "Location",
                "id": own["loc"],
                "name": "Mine now",
                "managingOrganization": {"reference": f"Organization/{east}"},
            },
        ),
        intruder.post(
            "/Location",
            headers=FHIR_JSON,
            json={
                "resourceType": "Location",
                "name": "Fake ward",
                "managingOrganization": {"reference": f"Organization/{city}"},
            },
        ),
        intruder.post(
            "/Organization", json={"resourceType": "Organization", "name": "New"}, headers=FHIR_JSON
        ),
    ]
    assert [r.status_code for r in refused] == [403] * 4
    assert intruder.get(f"/Location/{own['loc']}").json()["name"] == "Ward"  # public, unchanged
    renamed = acting_as(system(east)).put(
        f"/Organization/{east}",
        headers=FHIR_JSON,
        json={"resourceType": "Organization", "id": east, "name": "East Laboratory"},
    )
    assert renamed.status_code == 200


def push(http: httpx.Client, value: float = 1.5) -> httpx.Response:
    """A lab result for the patient named by identifier, as a lab's engine sends it."""
    result = observation(f"Patient?identifier={MRN}", value=value)
    return http.post("/", json=transaction(entry(result)), headers=FHIR_JSON)


def test_results_reach_only_the_hospital_that_pushed_them(
    orgs: dict[str, str], acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    citizen = post(client, patient("111", "Aalto"))
    city, east = acting_as(system(orgs["City Hospital"])), acting_as(system(orgs["East Lab"]))
    assert city.get(f"/Patient/{citizen}").status_code == 404  # not in view before a push
    assert city.get("/Patient", params={"identifier": MRN}).json()["total"] == 0  # no browsing
    pushed = push(city)
    assert pushed.status_code == 200, pushed.text
    result = created_id(pushed.json()["entry"][0])
    assert city.get(f"/Patient/{citizen}").status_code == 200
    assert city.get(f"/Observation/{result}").status_code == 200
    assert east.get(f"/Observation/{result}").status_code == 404
    assert east.get(f"/Patient/{citizen}").status_code == 404
    assert east.get("/Observation", params={"subject": f"Patient/{citizen}"}).json()["total"] == 0
    assert east.get("/Patient", params={"name": "Aalto"}).json()["total"] == 0
    own = push(east, 2.5)
    assert own.status_code == 200, own.text
    assert east.get("/Observation").json()["total"] == 1  # its own result, not City's
    assert city.get("/Observation").json()["total"] == 1


def test_a_hospital_names_patients_by_identifier_never_by_id(
    orgs: dict[str, str], acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    citizen = post(client, patient("111", "Aalto"))
    east = acting_as(system(orgs["East Lab"]))
    by_id = east.post("/Observation", json=observation(f"Patient/{citizen}"), headers=FHIR_JSON)
    assert by_id.status_code == 403
    assert client.get("/Observation", params={"_summary": "count"}).json()["total"] == 0
    found = east.post(
        "/Patient",
        json=patient("111", "Aalto"),
        headers={**FHIR_JSON, "If-None-Exist": f"identifier={MRN}"},
    )
    assert (found.status_code, found.json()["id"]) == (200, citizen)
    assert east.get(f"/Patient/{citizen}").status_code == 200
    post(client, patient("222", "Berg"))  # a citizen East Lab has never named
    by_name = east.post(
        "/Patient",
        json=patient("333", "Berg"),
        headers={**FHIR_JSON, "If-None-Exist": "name=Berg"},
    )
    assert by_name.status_code == 201  # a name resolves nothing outside the view
    assert east.get("/Patient").json()["total"] == 2


def test_appointments_at_a_hospital_are_in_its_view(
    orgs: dict[str, str], acting_as: Callable[[AuthContext], httpx.Client], client: httpx.Client
) -> None:
    city_id = orgs["City Hospital"]
    city = acting_as(system(city_id))
    own = publish(city, city_id)
    citizen = post(client, patient("111", "Aalto"))
    booked = post(
        client,
        {
            "resourceType": "Appointment",
            "status": "booked",
            "start": "2030-01-07T08:00:00Z",
            "end": "2030-01-07T08:20:00Z",
            "slot": [{"reference": f"Slot/{own['slot']}"}],
            "participant": [{"actor": {"reference": f"Patient/{citizen}"}, "status": "accepted"}],
        },
    )
    assert city.get(f"/Appointment/{booked}").status_code == 200
    assert city.get(f"/Patient/{citizen}").status_code == 200
    east = acting_as(system(orgs["East Lab"]))
    assert east.get(f"/Appointment/{booked}").status_code == 404
    assert east.get(f"/Patient/{citizen}").status_code == 404
