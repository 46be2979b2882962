"""A lab's whole push as docs/results.md asks for it: the report, its Observations, the report's
PDF as a DocumentReference and its Binary, each written by conditional update, signed in as
the hospital's system; and what the database holds, counted, to show what a push wrote."""

import base64
import copy
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select, text

from medsvc.fhir.store import RESOURCE, VERSION
from tests.conftest import Backend
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, patient
from tests.fhir.test_search import post
from tests.scheduling.clinic import hospital_context

NATIONAL_ID = "urn:oid:1.2.246.21"
LAB = "urn:lab:resends"
TESTS = ("2160-0", "718-7")
PDF = b"%PDF-1.4\n% creatinine and haemoglobin\n%%EOF\n"
ISSUED = REPORT_ESSENTIALS["issued"]
COUNTED = ("conditional_key", "result_release", "release_log")


def _entry(full_url: str, resource: dict[str, Any], url: str) -> dict[str, Any]:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "PUT", "url": url}}


def lab_bundle(
    national_id: str,
    report_id: str,
    status: str = "final",
    issued: str = ISSUED,
    pdf: bytes = PDF,
    value: float = 1.5,
) -> dict[str, Any]:
    """The push; status, issued, pdf and value say which version of the result it carries."""
    subject = f"Patient?identifier={NATIONAL_ID}|{national_id}"
    entries = []
    for code in TESTS:
        result = {**observation(subject, code=code, value=value, status=status), "issued": issued}
        result["identifier"] = [{"system": LAB, "value": f"{report_id}-{code}"}]
        url = f"Observation?identifier={LAB}|{report_id}-{code}"
        entries.append(_entry(f"urn:uuid:{report_id}-{code}", result, url))
    report = {
        "resourceType": "DiagnosticReport",
        "identifier": [{"system": LAB, "value": report_id}],
        "status": status,
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": {"reference": subject},
        "result": [{"reference": e["fullUrl"]} for e in entries],
        **REPORT_ESSENTIALS,
        "issued": issued,
    }
    document_key = f"{report_id}-pdf"
    document = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": LAB, "value": document_key}],
        "status": "current",
        "docStatus": {"preliminary": "preliminary", "final": "final"}.get(status, "amended"),
        "date": issued,
        "subject": {"reference": subject},
        "context": {"related": [{"reference": f"urn:uuid:{report_id}"}]},
        "content": [
            {"attachment": {"contentType": "application/pdf", "url": f"urn:uuid:{report_id}-b"}}
        ],
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": {"reference": f"urn:uuid:{document_key}"},
        "data": base64.b64encode(pdf).decode(),
    }
    entries += [
        _entry(f"urn:uuid:{report_id}", report, f"DiagnosticReport?identifier={LAB}|{report_id}"),
        _entry(
            f"urn:uuid:{document_key}",
            document,
            f"DocumentReference?identifier={LAB}|{document_key}",
        ),
        _entry(
            f"urn:uuid:{report_id}-b",
            binary,
            f"Binary?securitycontext:DocumentReference.identifier={LAB}|{document_key}",
        ),
    ]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def with_entry(bundle: dict[str, Any], resource_type: str, **changes: Any) -> dict[str, Any]:
    """The bundle with the first entry of a type changed."""
    changed = copy.deepcopy(bundle)
    entry = next(e for e in changed["entry"] if e["resource"]["resourceType"] == resource_type)
    entry["resource"].update(changes)
    return changed


class Lab:
    """A patient, and a hospital's system pushing their results."""

    def __init__(
        self,
        client: httpx.Client,
        acting_as: Callable[..., httpx.Client],
        national_id: str = "050505-5050",
        **settings: Any,
    ) -> None:
        self.client = client
        self.national_id = national_id
        self.patient_id = post(client, patient(national_id))["id"]
        organization = post(client, {"resourceType": "Organization", "name": "City Lab"})["id"]
        self.hospital = acting_as(hospital_context(organization), **settings)

    def send(self, bundle: dict[str, Any]) -> httpx.Response:
        return self.hospital.post("/", json=bundle, headers=FHIR_JSON)

    def push(self, report_id: str = "R-1", **version: Any) -> list[str]:
        """Sends the push, which must succeed; returns each entry's location."""
        response = self.send(lab_bundle(self.national_id, report_id, **version))
        assert response.status_code == 200, response.text
        return [e["response"]["location"] for e in response.json()["entry"]]


def counts(backend: Backend) -> dict[str, int]:
    """Rows of each table a push writes, and each stored type's resources and versions. Every
    request is audited, by a writer of its own: AuditEvents are left out."""
    with backend.database.session(write=False) as session:
        found = {
            t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED
        }
        for table in (RESOURCE, VERSION):
            by_type = session.execute(
                select(table.c.resource_type, func.count())
                .where(table.c.resource_type != "AuditEvent")
                .group_by(table.c.resource_type)
            )
            found.update({f"{table.name} {kind}": int(n) for kind, n in by_type})
    return found


def versions(client: httpx.Client, resource_type: str) -> dict[str, str]:
    """Each stored resource of a type: its id and current versionId."""
    return {r["id"]: r["meta"]["versionId"] for r in current(client, resource_type)}


def current(client: httpx.Client, resource_type: str) -> list[dict[str, Any]]:
    bundle = client.get(f"/{resource_type}", params={"_count": "100"}).json()
    return [e["resource"] for e in bundle.get("entry", [])]
