"""The role write policy over real HTTP with real tokens: each role's refused writes are 403
OperationOutcomes that leave the stored versions as they were, whatever the token's scopes
(every caller's token here holds `*.cruds`); what each role needs keeps working: a citizen's
bookings and contact details, a hospital's publishing and pushes, a doctor's answers."""

from datetime import timedelta

import httpx
import pytest

from medsvc import clock
from medsvc.security.clients import CITIZEN_APP_SCOPES
from tests.access.attempts import (
    DIRECTORY,
    JSON_PATCH,
    RESULTS,
    answer,
    attempt,
    book,
    new_resources,
    refused,
    totals,
    versions,
)
from tests.access.world import CITIZEN_ID, World
from tests.conftest import Backend
from tests.results.test_pushes import push
from tests.scheduling.clinic import booked, parameters
from tests.security.conftest import App

REFUSED = {
    "citizen": {
        "POST": (
            *RESULTS,
            "DocumentReference",
            "Binary",
            "Specimen",
            "ServiceRequest",
            "Provenance",
            "Appointment",
            "Patient",
            *DIRECTORY,
        ),
        "PUT": (*RESULTS, *DIRECTORY),
        "PATCH": (*RESULTS, *DIRECTORY),
        "DELETE": (*RESULTS, "Patient", *DIRECTORY),
    },
    "practitioner": {
        "POST": ("Patient", *DIRECTORY),
        "PUT": ("Patient", *DIRECTORY),
        "PATCH": ("Patient", *DIRECTORY),
        "DELETE": (*RESULTS, "Patient", *DIRECTORY),
    },
    "admin": {
        "POST": ("Patient", *RESULTS, "Binary", *DIRECTORY),
        "PUT": DIRECTORY,
        "PATCH": DIRECTORY,
        "DELETE": DIRECTORY,
    },
    "hospital": {"DELETE": ("Patient",)},
}


@pytest.mark.parametrize("role", sorted(REFUSED))
def test_a_role_is_refused_what_the_policy_keeps_from_it(world: World, role: str) -> None:
    book(world.citizen, slot=f"Slot/{world.slots[0]}")  # the doctor now cares for the citizen
    before, counted = versions(world), totals(world)
    caller = getattr(world, role)
    answers = {
        (method, resource_type): attempt(caller, method, resource_type, world)
        for method, types in REFUSED[role].items()
        for resource_type in types
    }
    wrong = {k: f"{r.status_code} {r.text[:300]}" for k, r in answers.items() if not refused(r)}
    assert wrong == {}
    assert versions(world) == before
    assert totals(world) == counted


def test_a_citizen_with_every_scope_still_writes_no_result(world: World) -> None:
    report = world.hospital.get(f"/DiagnosticReport/{world.report}").json()
    result = world.hospital.get(f"/Observation/{world.observation}").json()
    identifier = result["identifier"][0]
    by_identifier = f"Observation?identifier={identifier['system']}|{identifier['value']}"
    changed_value = {**result, "valueQuantity": {**result["valueQuantity"], "value": 9.9}}
    citizen = world.citizen
    attempts = [
        citizen.put(f"/DiagnosticReport/{world.report}", json={**report, "conclusion": "Fine"}),
        citizen.patch(
            f"/DiagnosticReport/{world.report}",
            json=[{"op": "add", "path": "/conclusion", "value": "Fine"}],
            headers=JSON_PATCH,
        ),
        citizen.delete(f"/DiagnosticReport/{world.report}"),
        citizen.put(f"/Observation/{world.observation}", json=changed_value),
        citizen.patch(
            f"/Observation/{world.observation}",
            json=[{"op": "replace", "path": "/valueQuantity/value", "value": 9.9}],
            headers=JSON_PATCH,
        ),
        citizen.delete(f"/Observation/{world.observation}"),
        citizen.put(
            f"/{by_identifier}", json={k: v for k, v in changed_value.items() if k != "id"}
        ),
        citizen.delete(f"/{by_identifier}"),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert all(a.json()["issue"][0]["code"] == "forbidden" for a in attempts)
    assert (
        "citizen may not change DiagnosticReport" in attempts[0].json()["issue"][0]["diagnostics"]
    )
    in_bundle = citizen.post(
        "",
        json={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": changed_value,
                    "request": {"method": "PUT", "url": f"Observation/{world.observation}"},
                }
            ],
        },
    )
    assert in_bundle.status_code == 403, in_bundle.text
    assert world.hospital.get(f"/DiagnosticReport/{world.report}").json() == report
    assert world.hospital.get(f"/Observation/{world.observation}").json() == result


def test_a_citizen_changes_their_contact_details_but_not_who_they_are(world: World) -> None:
    path = f"/Patient/{world.patient}"
    me = world.citizen.get(path).json()
    phone = [{"system": "phone", "value": "+358 40 123 4567", "use": "mobile"}]
    changed = world.citizen.put(path, json={**me, "telecom": phone})
    assert changed.status_code == 200, changed.text
    moved = world.citizen.patch(
        path,
        json=[{"op": "add", "path": "/address", "value": [{"city": "Tampere"}]}],
        headers=JSON_PATCH,
    )
    assert moved.status_code == 200, moved.text
    now = world.hospital.get(path).json()
    assert (now["telecom"], now["address"]) == (phone, [{"city": "Tampere"}])
    spellings = [
        world.citizen.put(path, json={**now, "name": [{"family": "Someone", "given": ["Else"]}]}),
        world.citizen.put(path, json={**now, "identifier": [{"system": "urn:x", "value": "1"}]}),
        world.citizen.put(path, json={**now, "gender": "male", "birthDate": "1990-01-01"}),
        world.citizen.put(path, json={k: v for k, v in now.items() if k != "identifier"}),
        world.citizen.put(path, json={**now, "meta": {"security": [{"code": "R"}]}}),
        world.citizen.patch(
            path,
            json=[{"op": "replace", "path": "/name/0/family", "value": "Else"}],
            headers=JSON_PATCH,
        ),
        world.citizen.patch(
            path,
            json=[
                {
                    "op": "add",
                    "path": "/managingOrganization",
                    "value": {"reference": "Organization/x"},
                }
            ],
            headers=JSON_PATCH,
        ),
        world.citizen.patch(
            path,
            json=[
                {
                    "op": "add",
                    "path": "/link",
                    "value": [{"other": {"reference": "Patient/x"}, "type": "seealso"}],
                }
            ],
            headers=JSON_PATCH,
        ),
    ]
    assert [r.status_code for r in spellings] == [403] * len(spellings)
    issues = [r.json()["issue"][0] for r in spellings]
    assert issues[0]["expression"] == ["Patient.name"]
    assert issues[2]["expression"] == ["Patient.birthDate", "Patient.gender"]
    assert "not: birthDate, gender" in issues[2]["diagnostics"]
    assert [i["expression"] for i in issues[3:]] == [
        ["Patient.identifier"],
        ["Patient.meta"],
        ["Patient.name"],
        ["Patient.managingOrganization"],
        ["Patient.link"],
    ]
    assert world.hospital.get(path).json() == now


def test_a_citizen_books_reschedules_and_cancels_through_the_operations_only(
    world: World,
) -> None:
    citizen, first, second = world.citizen, *world.slots[:2]
    today = clock.now().date()
    window = parameters(start=str(today), end=str(today + timedelta(days=30)))
    found = citizen.post("/Appointment/$find", json=window)
    assert found.status_code == 200, found.text
    held = booked(citizen.post("/Appointment/$hold", json=parameters(slot=f"Slot/{first}")))
    mine = book(citizen, appt_id=f"Appointment/{held['id']}")
    path = f"/Appointment/{mine['id']}"
    stored = world.hospital.get(path).json()
    by_rest = [
        citizen.post("/Appointment", json=new_resources(world)["Appointment"]),
        citizen.put(path, json={**stored, "status": "cancelled"}),
        citizen.patch(
            path,
            json=[{"op": "replace", "path": "/status", "value": "cancelled"}],
            headers=JSON_PATCH,
        ),
        citizen.delete(path),
        citizen.post(
            "",
            json={
                "resourceType": "Bundle",
                "type": "transaction",
                "entry": [
                    {
                        "resource": {**stored, "status": "cancelled"},
                        "request": {"method": "PUT", "url": f"Appointment/{mine['id']}"},
                    }
                ],
            },
        ),
        citizen.post(
            "/AppointmentResponse", json=answer(mine["id"], f"Patient/{world.patient}", "declined")
        ),
    ]
    assert [r.status_code for r in by_rest] == [403] * len(by_rest), [r.text for r in by_rest]
    assert "$book, $cancel, $hold" in by_rest[1].json()["issue"][0]["diagnostics"]
    assert world.hospital.get(path).json() == stored
    moved = book(citizen, slot=f"Slot/{second}", cancelled_appt_id=f"Appointment/{mine['id']}")
    assert world.hospital.get(path).json()["status"] == "cancelled"
    cancelled = citizen.post(f"/Appointment/{moved['id']}/$cancel", json=parameters(reason="Ill"))
    assert cancelled.status_code == 200, cancelled.text
    assert world.hospital.get(f"/Appointment/{moved['id']}").json()["status"] == "cancelled"
    assert citizen.get(f"/DiagnosticReport/{world.report}").status_code == 200


def test_a_hospital_still_publishes_and_pushes(world: World) -> None:
    hospital = world.hospital
    published = hospital.post("/Slot", json=new_resources(world)["Slot"])
    assert published.status_code == 201, published.text
    own = hospital.get(f"/Schedule/{world.clinic.schedule}").json()
    assert hospital.put(f"/Schedule/{own['id']}", json={**own, "comment": "Mornings"}).is_success
    pushed = hospital.post("", json=push(CITIZEN_ID, "R-2"))
    assert pushed.status_code == 200, pushed.text
    appointment = book(world.citizen, slot=f"Slot/{world.slots[0]}")
    stored = hospital.get(f"/Appointment/{appointment['id']}").json()
    cancelled = hospital.put(
        f"/Appointment/{appointment['id']}",
        json={**stored, "status": "cancelled", "cancelationReason": {"text": "The doctor is ill"}},
    )
    assert cancelled.status_code == 200, cancelled.text
    corrected = hospital.patch(
        f"/Observation/{world.observation}",
        json=[{"op": "replace", "path": "/status", "value": "amended"}],
        headers=JSON_PATCH,
    )
    assert corrected.status_code == 200, corrected.text


def test_a_doctor_answers_and_records_for_the_patients_in_their_care(world: World) -> None:
    appointment = book(world.citizen, slot=f"Slot/{world.slots[0]}")
    doctor = world.practitioner
    accepted = doctor.post(
        "/AppointmentResponse",
        json=answer(appointment["id"], f"Practitioner/{world.clinic.practitioner}", "accepted"),
    )
    assert accepted.status_code == 201, accepted.text
    recorded = doctor.post("/Observation", json=new_resources(world)["Observation"])
    assert recorded.status_code == 201, recorded.text
    publishing = doctor.post("/Slot", json=new_resources(world)["Slot"])
    assert refused(publishing)


def test_an_app_registered_by_default_is_granted_what_a_citizen_app_needs(
    world: World, http: httpx.Client, clean: Backend, fhir_base: str
) -> None:
    app = App(http, clean, fhir_base)  # `medsvc clients add-app` without --scope
    asked = "launch/patient openid fhirUser patient/*.cruds"
    response = app.exchange(app.code("aino", scope=asked))
    assert response.status_code == 200, response.text
    granted = set(response.json()["scope"].split())
    assert granted == {"launch/patient", "openid", "fhirUser", *CITIZEN_APP_SCOPES.split()}
    assert not any(s.startswith("patient/Observation.c") for s in granted)
