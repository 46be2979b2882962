"""Another patient named by a spelling of their reference (`/Patient/B`, `x/Patient/B`, the
base URL with another port, ...): every write path refuses it with a 422 naming the element,
stores nothing, and the other patient's record stays out of sight; `$book` for someone else
is refused with a 403."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, patient, practitioner
from tests.scheduling.clinic import (
    add_slots,
    citizen_context,
    hospital_context,
    open_clinic,
    practitioner_context,
)
from tests.security.test_compartments import _appointment

Open = Callable[[AuthContext], httpx.Client]
PATCH_JSON = {"Content-Type": "application/json-patch+json"}
NO_MATCH = "urn:x|none"  # the condition of conditional writes: it matches nothing
WRITES = ["POST", "PUT", "PATCH", "conditional create", "conditional update"]


def spellings(base: str, patient_id: str) -> list[str]:
    """Ways to write Patient/{id} that are not the accepted Type/id or {base}/Type/id."""
    url = urlsplit(base)
    host, port, path = url.hostname, url.port or 80, url.path
    local = f"Patient/{patient_id}"
    return [
        f"/{local}",
        f"x/{local}",
        f"{base}//{local}",
        f"./{local}",
        f"../{local}",
        f"Patient//{patient_id}",
        f"{local}/",
        f"{local}?_format=json",
        f"{local}#x",
        f"patient/{patient_id}",
        f"Patient%2F{patient_id}",
        f"Patient/%{ord(patient_id[0]):02X}{patient_id[1:]}",
        f" {local}",
        f"{local}\t",
        f"Patient\\{patient_id}",
        f"{local}/_history",
        f"urn:uuid:x/{local}",
        f"{url.scheme.upper()}://{host}:{port}{path}/{local}",
        f"{url.scheme}://{host}:{port}{path.upper()}/{local}",
        f"{url.scheme}://{host}.:{port}{path}/{local}",
        f"{url.scheme}://{host}:{port + 1}{path}/{local}",
        f"{url.scheme}://user@{host}:{port}{path}/{local}",
    ]


@dataclass
class World:
    """Citizens A and B (B with a report), doctor D with an appointment with A, a hospital,
    and what each role may change that names a patient."""

    ids: dict[str, str]
    mine: dict[str, tuple[str, str, str]]  # role: (type, id, element holding the patient)


def _created(http: httpx.Client, resource: dict[str, Any]) -> str:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _report(subject: str) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "panel"},
        "subject": {"reference": subject},
        **REPORT_ESSENTIALS,
    }


def contexts(world: World) -> dict[str, AuthContext]:
    return {
        "citizen": citizen_context(world.ids["A"]),
        "practitioner": practitioner_context(world.ids["D"]),
        "hospital": hospital_context(world.ids["org"]),
    }


@pytest.fixture
def world(client: httpx.Client) -> World:
    ids = {
        "A": _created(client, patient("1", "Aalto")),
        "B": _created(client, patient("2", "Berg")),
        "D": _created(client, practitioner("d1", "Doe")),
        "org": _created(client, {"resourceType": "Organization", "name": "North Hospital"}),
    }
    ids["drB"] = _created(client, _report(f"Patient/{ids['B']}"))
    ids["obA"] = _created(client, observation(f"Patient/{ids['A']}"))
    ids["apA"] = _created(client, _appointment(f"Patient/{ids['A']}", f"Practitioner/{ids['D']}"))
    mine = {
        "citizen": ("Observation", ids["obA"], "subject"),
        "practitioner": ("Appointment", ids["apA"], "participant[0].actor"),
    }
    return World(ids, mine)


def _signed_in(world: World, acting_as: Open, role: str) -> httpx.Client:
    """The role's client; a hospital first makes the patient and appointment it may change."""
    http = acting_as(contexts(world)[role])
    if role == "hospital" and "hospital" not in world.mine:
        world.ids["H"] = _created(http, patient("3", "Heino"))
        appointment = _created(http, _appointment(f"Patient/{world.ids['H']}"))
        world.mine["hospital"] = ("Appointment", appointment, "participant[0].actor")
    return http


def _with_reference(resource: dict[str, Any], element: str, reference: str) -> dict[str, Any]:
    changed = {k: v for k, v in resource.items() if k != "meta"}
    if element == "subject":
        changed["subject"] = {"reference": reference}
    else:
        first = {**changed["participant"][0], "actor": {"reference": reference}}
        changed["participant"] = [first, *changed["participant"][1:]]
    return changed


def _pointer(element: str) -> str:
    return "/subject/reference" if element == "subject" else "/participant/0/actor/reference"


def _attempt(
    http: httpx.Client, method: str, current: dict[str, Any], element: str, reference: str
) -> tuple[httpx.Response, str]:
    """One write naming the reference; the response and the element the refusal must name."""
    kind, resource_id = current["resourceType"], current["id"]
    expression = f"{kind}.{element}.reference"
    changed = _with_reference(current, element, reference)
    new = {k: v for k, v in changed.items() if k != "id"}
    entry = {"resource": new, "request": {"method": "POST", "url": kind}}
    if method == "POST":
        return http.post(f"/{kind}", json=new, headers=FHIR_JSON), expression
    if method == "PUT":
        return http.put(f"/{kind}/{resource_id}", json=changed, headers=FHIR_JSON), expression
    if method == "conditional create":
        headers = {**FHIR_JSON, "If-None-Exist": f"identifier={NO_MATCH}"}
        return http.post(f"/{kind}", json=new, headers=headers), expression
    if method == "conditional update":
        url = f"/{kind}?identifier={NO_MATCH}"
        return http.put(url, json=new, headers=FHIR_JSON), expression
    if method == "PATCH":
        patch = [{"op": "replace", "path": _pointer(element), "value": reference}]
        return http.patch(f"/{kind}/{resource_id}", json=patch, headers=PATCH_JSON), expression
    bundle = {"resourceType": "Bundle", "type": method, "entry": [entry]}
    return http.post(
        "/", json=bundle, headers=FHIR_JSON
    ), f"Bundle.entry[0].resource.{element}.reference"


def _refusal(response: httpx.Response, method: str) -> dict[str, Any]:
    """The OperationOutcome of a 422, for a batch the one of its entry."""
    if method == "batch":
        assert response.status_code == 200, response.text
        entry = response.json()["entry"][0]["response"]
        assert entry["status"].startswith("422"), entry
        return dict(entry["outcome"])
    assert response.status_code == 422, response.text
    return dict(response.json())


def _stored_state(client: httpx.Client, world: World) -> dict[str, Any]:
    def total(kind: str) -> int:
        return int(client.get(f"/{kind}", params={"_summary": "count"}).json()["total"])

    versions = {
        role: client.get(f"/{kind}/{resource_id}").json()["meta"]["versionId"]
        for role, (kind, resource_id, _) in world.mine.items()
    }
    return {"Observation": total("Observation"), "Appointment": total("Appointment"), **versions}


def _cannot_see_b(http: httpx.Client, world: World) -> None:
    assert http.get(f"/Patient/{world.ids['B']}").status_code == 404
    assert http.get(f"/DiagnosticReport/{world.ids['drB']}").status_code == 404
    found = http.get("/DiagnosticReport", params={"subject": f"Patient/{world.ids['B']}"})
    assert found.status_code == 200, found.text
    assert not found.json().get("entry")


@pytest.mark.parametrize("method", [*WRITES, "transaction", "batch"])
@pytest.mark.parametrize("role", ["citizen", "practitioner", "hospital"])
def test_a_misspelt_reference_to_another_patient_is_refused_and_nothing_is_stored(
    world: World, acting_as: Open, client: httpx.Client, role: str, method: str
) -> None:
    http = _signed_in(world, acting_as, role)
    kind, resource_id, element = world.mine[role]
    current = http.get(f"/{kind}/{resource_id}").json()
    base = str(http.base_url).rstrip("/")
    before = _stored_state(client, world)
    for reference in spellings(base, world.ids["B"]):
        response, expression = _attempt(http, method, current, element, reference)
        outcome = _refusal(response, method)
        assert outcome["resourceType"] == "OperationOutcome"
        named = [x for issue in outcome["issue"] for x in issue.get("expression", [])]
        assert named == [expression], (reference, outcome)
    assert _stored_state(client, world) == before
    _cannot_see_b(http, world)


def test_a_conditional_reference_is_resolved_only_in_a_transaction(
    world: World, acting_as: Open, client: httpx.Client
) -> None:
    http = acting_as(contexts(world)["citizen"])
    conditional = f"Patient?_id={world.ids['B']}"
    posted = http.post("/Observation", json=observation(conditional), headers=FHIR_JSON)
    assert posted.status_code == 422, posted.text
    assert posted.json()["issue"][0]["expression"] == ["Observation.subject.reference"]
    entry = {
        "resource": observation(conditional),
        "request": {"method": "POST", "url": "Observation"},
    }
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    assert http.post("/", json=bundle, headers=FHIR_JSON).status_code == 404  # B is not in view
    assert _stored_state(client, world)["Observation"] == 1


def test_accepted_spellings_are_read_alike_and_another_server_is_no_local_patient(
    world: World, acting_as: Open, client: httpx.Client
) -> None:
    http = acting_as(contexts(world)["practitioner"])  # D records results of A, in D's care
    base = str(http.base_url).rstrip("/")
    a, b = world.ids["A"], world.ids["B"]
    for own in (f"Patient/{a}", f"{base}/Patient/{a}", f"Patient/{a}/_history/1"):
        assert (
            http.post("/Observation", json=observation(own), headers=FHIR_JSON).status_code == 201
        )
    for other in (f"{base}/Patient/{b}", f"Patient/{b}/_history/1"):
        response = http.post("/Observation", json=observation(other), headers=FHIR_JSON)
        assert response.status_code == 403, response.text
    elsewhere = f"https://other.example/fhir/Patient/{b}"
    external = {**observation(f"Patient/{a}"), "performer": [{"reference": elsewhere}]}
    assert http.post("/Observation", json=external, headers=FHIR_JSON).status_code == 201
    mine = http.get("/Observation", params={"subject": f"Patient/{a}"}).json()
    subjects = sorted(e["resource"]["subject"]["reference"] for e in mine["entry"])
    own = [f"Patient/{a}", f"{base}/Patient/{a}", f"Patient/{a}/_history/1"]
    assert subjects == sorted([*own, f"Patient/{a}", f"Patient/{a}"])  # opened under A's key
    by_url = client.get("/Observation", params={"performer": elsewhere, "_summary": "count"})
    assert by_url.json()["total"] == 1
    as_local = client.get("/Observation", params={"performer": f"Patient/{b}", "_summary": "count"})
    assert as_local.json()["total"] == 0
    refused = client.get("/Observation", params={"subject": f"x/Patient/{a}"})
    assert refused.status_code == 400, refused.text


def _book(http: httpx.Client, slot: str, patient_id: Any) -> httpx.Response:
    given = (
        {"name": "patient-id", "valueReference": patient_id}
        if isinstance(patient_id, dict)
        else {"name": "patient-id", "valueString": patient_id}
    )
    parameters = {
        "resourceType": "Parameters",
        "parameter": [{"name": "slot", "valueString": f"Slot/{slot}"}, given],
    }
    return http.post("/Appointment/$book", json=parameters, headers=FHIR_JSON)


def test_a_citizen_books_for_themselves_only(
    world: World, acting_as: Open, client: httpx.Client
) -> None:
    clinic = open_clinic(client)
    [slot] = add_slots(client, clinic.schedule, 1)
    http = acting_as(contexts(world)["citizen"])
    base = str(http.base_url).rstrip("/")
    b = world.ids["B"]
    others = [f"Patient/{b}", f"{base}/Patient/{b}", *spellings(base, b)]
    before = _stored_state(client, world)
    for other in others:
        for given in (other, {"reference": other}):
            response = _book(http, slot, given)
            assert response.status_code == 403, (given, response.text)
            assert response.json()["issue"][0]["code"] == "forbidden"
    assert _stored_state(client, world) == before
    assert _book(http, slot, world.ids["B"]).status_code == 403  # B's bare id
    own = _book(http, slot, world.ids["A"])
    assert own.status_code == 200, own.text
    booked = own.json()["entry"][0]["resource"]
    assert {"reference": f"Patient/{world.ids['A']}"} in [p["actor"] for p in booked["participant"]]


def test_staff_booking_with_a_misspelt_patient_is_unprocessable(
    world: World, acting_as: Open, client: httpx.Client
) -> None:
    clinic = open_clinic(client)
    [slot] = add_slots(client, clinic.schedule, 1)
    staff = {role: _signed_in(world, acting_as, role) for role in ("practitioner", "hospital")}
    before = _stored_state(client, world)
    for role, http in staff.items():
        for reference in spellings(str(http.base_url).rstrip("/"), world.ids["B"]):
            response = _book(http, slot, {"reference": reference})
            assert response.status_code == 422, (role, reference, response.text)
            [issue] = response.json()["issue"]
            assert issue["expression"] == ["Parameters.parameter.where(name = 'patient-id')"]
    assert _stored_state(client, world) == before


def test_validate_reports_a_misspelt_reference(client: httpx.Client) -> None:
    response = client.post(
        "/Observation/$validate", json=observation("x/Patient/1"), headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    named = [x for issue in response.json()["issue"] for x in issue.get("expression", [])]
    assert named == ["Observation.subject.reference"]


def test_a_slot_named_on_the_base_url_is_taken_in_the_ledger(
    world: World, client: httpx.Client
) -> None:
    clinic = open_clinic(client)
    [slot] = add_slots(client, clinic.schedule, 1)
    base = str(client.base_url).rstrip("/")
    taken = client.get(f"/Slot/{slot}").json()
    appointment = _appointment(f"Patient/{world.ids['A']}")
    appointment.update(start=taken["start"], end=taken["end"])
    appointment["slot"] = [{"reference": f"{base}/Slot/{slot}"}]
    response = client.post("/Appointment", json=appointment, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    assert client.get(f"/Slot/{slot}").json()["status"] == "busy"
    again = client.post("/Appointment", json=appointment, headers=FHIR_JSON)
    assert again.status_code == 409, again.text
