"""The IDOR matrix for results: each kind of caller against one patient's report, its
Observation and its PDF, by id, version, history, search and $everything, released or not.
Whoever may not see a result gets 404, exactly as for a result that does not exist."""

import base64
from dataclasses import replace

import httpx
import pytest

from medsvc.security.context import AuthContext
from tests.conftest import Backend
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, appointment, observation, patient
from tests.fhir.test_search import post
from tests.results.test_release import NATIONAL_ID, Opener
from tests.scheduling.clinic import citizen_context, hospital_context, practitioner_context


def pushed_by(
    hospital: httpx.Client, national_id: str, doctor_id: str, status: str
) -> dict[str, str]:
    subject = {"reference": f"Patient?identifier={NATIONAL_ID}|{national_id}"}
    result = {**observation("", status=status), "subject": subject}
    report = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": subject,
        "result": [{"reference": "urn:uuid:idor-o"}],
        "resultsInterpreter": [{"reference": f"Practitioner/{doctor_id}"}],
        **REPORT_ESSENTIALS,
    }
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": status,
        "subject": subject,
        "content": [{"attachment": {"contentType": "application/pdf", "url": "urn:uuid:idor-pdf"}}],
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": {"reference": "urn:uuid:idor-doc"},
        "data": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
    }
    entries = [
        ("urn:uuid:idor-o", result),
        ("urn:uuid:idor-r", report),
        ("urn:uuid:idor-doc", document),
        ("urn:uuid:idor-pdf", binary),
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": url, "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for url, r in entries
        ],
    }
    response = hospital.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    locations = [e["response"]["location"].split("/_history")[0] for e in response.json()["entry"]]
    return {location.rsplit("/", 2)[1]: location.rsplit("/", 1)[1] for location in locations}


class World:
    def __init__(self, client: httpx.Client, acting_as: Opener):
        self.patient_id = post(client, patient("111111-1111"))["id"]
        other_patient = post(client, patient("222222-2222"))["id"]
        doctor_id = post(client, {"resourceType": "Practitioner"})["id"]
        carer_id = post(client, {"resourceType": "Practitioner"})["id"]
        stranger_id = post(client, {"resourceType": "Practitioner"})["id"]
        post(client, appointment(f"Patient/{self.patient_id}", f"Practitioner/{carer_id}"))
        lab = post(client, {"resourceType": "Organization", "name": "Lab A"})["id"]
        elsewhere = post(client, {"resourceType": "Organization", "name": "Lab B"})["id"]
        self.lab = acting_as(hospital_context(lab))
        self.callers: dict[str, httpx.Client] = {
            "owner": acting_as(citizen_context(self.patient_id)),
            "other citizen": acting_as(citizen_context(other_patient)),
            "doctor in care": acting_as(practitioner_context(carer_id)),
            "the report's interpreter": acting_as(practitioner_context(doctor_id)),
            "doctor not in care": acting_as(practitioner_context(stranger_id)),
            "the lab": self.lab,
            "another hospital": acting_as(hospital_context(elsewhere)),
            "administrator": acting_as(
                AuthContext(subject="admin", role="admin", scopes=frozenset({"user/*.rs"}))
            ),
            # Proxies act as the patient they chose, resting on the proxy relationship: the
            # owner's proxy sees what the owner sees, another patient's proxy nothing.
            "the owner's proxy": acting_as(
                replace(citizen_context(self.patient_id), proxy="proxy-of-owner")
            ),
            "another citizen's proxy": acting_as(
                replace(citizen_context(other_patient), proxy="proxy-of-other")
            ),
            "app without result scopes": acting_as(
                AuthContext(
                    subject="citizen",
                    patient=f"Patient/{self.patient_id}",
                    role="patient",
                    scopes=frozenset({"patient/Appointment.rs"}),
                )
            ),
        }
        self.final = pushed_by(self.lab, "111111-1111", doctor_id, "final")
        self.preliminary = pushed_by(self.lab, "111111-1111", doctor_id, "preliminary")


SEES_FINAL = {"owner", "the owner's proxy", "doctor in care", "the lab"}
SEES_PRELIMINARY = {"doctor in care", "the lab"}


def reads(http: httpx.Client, ids: dict[str, str], patient_id: str) -> dict[str, int]:
    """The status of every way to reach the results, by name."""
    report, result, document = ids["DiagnosticReport"], ids["Observation"], ids["DocumentReference"]
    pdf = {"Accept": "application/pdf"}

    def searched(resource_type: str, resource_id: str) -> int:
        response = http.get(f"/{resource_type}", params={"_id": resource_id})
        if response.status_code != 200:
            return response.status_code
        return 200 if response.json()["total"] == 1 else 404

    everything = http.get(f"/Patient/{patient_id}/$everything")
    in_everything = 200 if everything.status_code == 200 and report in everything.text else 404
    return {
        "read report": http.get(f"/DiagnosticReport/{report}").status_code,
        "vread report": http.get(f"/DiagnosticReport/{report}/_history/1").status_code,
        "history": http.get(f"/DiagnosticReport/{report}/_history").status_code,
        "read result": http.get(f"/Observation/{result}").status_code,
        "search report": searched("DiagnosticReport", report),
        "search result": searched("Observation", result),
        "read document": http.get(f"/DocumentReference/{document}").status_code,
        "read pdf": http.get(f"/Binary/{ids['Binary']}", headers=pdf).status_code,
        "everything": in_everything,
    }


WAYS = (
    "read report",
    "vread report",
    "history",
    "read result",
    "search report",
    "search result",
    "read document",
    "read pdf",
    "everything",
)


PATIENTS_RECORD = ("read document", "read pdf", "everything")
# The report's result was performed by the lab, not by the doctor who interpreted the report.
NOT_THE_INTERPRETERS = (*PATIENTS_RECORD, "read result", "search result")


def expected(caller: str, allowed: set[str]) -> dict[str, int]:
    """Allowed callers get 200 everywhere; the rest 404, as for a result that does not exist,
    except an app with no scope for results, which is refused the types outright (403)."""
    if caller in allowed:
        return dict.fromkeys(WAYS, 200)
    if caller == "app without result scopes":  # $everything: the Patient, without results
        return {**dict.fromkeys(WAYS, 403), "everything": 404}
    if caller == "the report's interpreter":  # their own work: the report, not what it lists
        return {**dict.fromkeys(WAYS, 200), **dict.fromkeys(NOT_THE_INTERPRETERS, 404)}
    return dict.fromkeys(WAYS, 404)


@pytest.mark.parametrize("released", [True, False], ids=["final", "preliminary"])
def test_who_reaches_a_patients_results(
    client: httpx.Client, clean: Backend, acting_as: Opener, released: bool
) -> None:
    world = World(client, acting_as)
    ids = world.final if released else world.preliminary
    allowed = SEES_FINAL if released else SEES_PRELIMINARY
    for caller, http in world.callers.items():
        assert reads(http, ids, world.patient_id) == expected(caller, allowed), caller
