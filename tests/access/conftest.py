"""What the access tests share: the server as production serves it, callers with access
tokens signed by its own keys, and a patient's record (a report with its result, its
document and PDF) that a doctor may or may not be caring for."""

import base64
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests import factories
from tests.access.world import world
from tests.conftest import Backend, LiveServer
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, patient, practitioner
from tests.security.conftest import acting_as, app, fhir_base, http

__all__ = ["acting_as", "app", "fhir_base", "http", "world"]

NATIONAL_ID = "urn:oid:1.2.246.21"
Caller = Callable[..., httpx.Client]


@pytest.fixture
def token_for(smart_server: LiveServer, clean: Backend) -> Iterator[Caller]:
    """HTTP clients of the production server, each with an access token it issued itself
    (the claims the token endpoint puts in a person's or a system's token)."""
    tokens = smart_server.server.config.app.state.tokens  # type: ignore[attr-defined]
    opened: list[httpx.Client] = []

    def open_with(**claims: Any) -> httpx.Client:
        token = tokens.issue({"sub": f"acct-{uuid.uuid4().hex[:8]}", **claims}, 3600)
        client = httpx.Client(
            base_url=smart_server.url + "/fhir",
            timeout=30,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        )
        opened.append(client)
        return client

    yield open_with
    for client in opened:
        client.close()


def as_practitioner(token_for: Caller, practitioner_id: str) -> httpx.Client:
    return token_for(
        client_id="clinic-app",
        scope="openid fhirUser user/*.cruds",
        role="practitioner",
        fhirUser=f"Practitioner/{practitioner_id}",
    )


def as_citizen(token_for: Caller, patient_id: str) -> httpx.Client:
    return token_for(
        client_id="city-app",
        scope="openid fhirUser patient/*.cruds",
        role="patient",
        fhirUser=f"Patient/{patient_id}",
        patient=patient_id,
    )


def as_hospital(token_for: Caller, org_id: str) -> httpx.Client:
    return token_for(
        client_id=f"his-{org_id}", scope="system/*.cruds", organization=f"Organization/{org_id}"
    )


def as_admin(token_for: Caller) -> httpx.Client:
    return token_for(client_id="console", scope="user/AuditEvent.rs", role="admin")


def post(client: httpx.Client, resource: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    return found


@dataclass
class Record:
    """A patient's record, the hospital and the doctor who works there."""

    patient: str
    org: str
    doctor: str
    report: str
    result: str
    document: str
    pdf: str


def _report_of(client: httpx.Client, patient_id: str, org_id: str) -> dict[str, str]:
    subject = {"reference": f"Patient/{patient_id}"}
    result = post(client, {**observation(f"Patient/{patient_id}")})["id"]
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": subject,
        "performer": [{"reference": f"Organization/{org_id}"}],
        "result": [{"reference": f"Observation/{result}"}],
        **REPORT_ESSENTIALS,
    }
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "final",
        "subject": subject,
        "content": [{"attachment": {"contentType": "application/pdf"}}],
    }
    document_id = post(client, document)["id"]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": {"reference": f"DocumentReference/{document_id}"},
        "data": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
    }
    return {
        "report": post(client, report)["id"],
        "result": result,
        "document": document_id,
        "pdf": post(client, binary)["id"],
    }


@pytest.fixture
def record(client: httpx.Client) -> Record:
    """Made by the platform: a hospital with one doctor (in a PractitionerRole there), and a
    patient with a report, its result, its document and PDF, and no appointment yet."""
    patient_id = post(client, patient("010101-1234"))["id"]
    org = post(client, {"resourceType": "Organization", "name": "City Hospital"})["id"]
    doctor = post(client, practitioner("d1"))["id"]
    post(
        client,
        {
            "resourceType": "PractitionerRole",
            "organization": {"reference": f"Organization/{org}"},
            "practitioner": {"reference": f"Practitioner/{doctor}"},
        },
    )
    return Record(patient_id, org, doctor, **_report_of(client, patient_id, org))


def appointment(record: Record, status: str, start: str = "2030-01-07T08:00:00Z") -> dict:
    """An Appointment of the record's patient with its doctor."""
    return factories.appointment(
        f"Patient/{record.patient}", f"Practitioner/{record.doctor}", status, start
    )


def ids_in(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def reach(http: httpx.Client, record: Record) -> dict[str, bool]:
    """Whether the caller reaches the patient's record, path by path: read, vread, history,
    search, a chain, _include, _revinclude, $everything, the document and its PDF, a batch
    entry and an operation on the report."""
    report, pdf = f"DiagnosticReport/{record.report}", {"Accept": "application/pdf"}
    everything = http.get(f"/Patient/{record.patient}/$everything")
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": report}}],
    }
    in_batch = http.post("/", json=batch, headers=FHIR_JSON).json()["entry"][0]["response"]
    type_history = http.get("/DiagnosticReport/_history", params={"_count": "100"})
    return {
        "read": http.get(f"/{report}").status_code == 200,
        "vread": http.get(f"/{report}/_history/1").status_code == 200,
        "history": http.get(f"/{report}/_history").status_code == 200,
        "type history": record.report in ids_in(type_history),
        "search": ids_in(http.get("/DiagnosticReport", params={"patient": record.patient}))
        == {record.report},
        "chain": ids_in(
            http.get(
                "/DiagnosticReport", params={"subject.identifier": f"{NATIONAL_ID}|010101-1234"}
            )
        )
        == {record.report},
        "_include": ids_in(
            http.get(
                "/DiagnosticReport",
                params={"_id": record.report, "_include": "DiagnosticReport:result"},
            )
        )
        == {record.report, record.result},
        "_revinclude": ids_in(
            http.get(
                "/Patient",
                params={"_id": record.patient, "_revinclude": "DiagnosticReport:subject"},
            )
        )
        == {record.patient, record.report},
        "result": http.get(f"/Observation/{record.result}").status_code == 200,
        "document": http.get(f"/DocumentReference/{record.document}").status_code == 200,
        "pdf": http.get(f"/Binary/{record.pdf}", headers=pdf).status_code == 200,
        "$everything": everything.status_code == 200 and record.report in everything.text,
        "batch GET": in_batch["status"].startswith("200"),
        "operation ($validate)": http.post(f"/{report}/$validate").status_code == 200,
    }


def reaches(http: httpx.Client, record: Record, expected: bool) -> None:
    """Every path agrees: all reach the record, or none does (and none fails otherwise)."""
    paths = reach(http, record)
    assert paths == dict.fromkeys(paths, expected), paths
