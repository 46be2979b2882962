"""Break-glass: a practitioner who asserts an emergency reason sees a patient outside their
care for break_glass_minutes; the assertion and every read under it are audited with the
purposes of use ETREAT and BTG for review. No one else may break the glass."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from medsvc import clock
from medsvc.audit import trail as audit_trail
from tests.access.conftest import (
    Caller,
    Record,
    appointment,
    as_admin,
    as_citizen,
    as_hospital,
    as_practitioner,
    reaches,
)
from tests.cli.test_main import medsvc
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.security.conftest import App, add_person

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
EMERGENCY = "Unconscious in the emergency room; allergies and current results needed"


def reason(text: str | None = EMERGENCY) -> dict:
    parameters = [{"name": "reason", "valueString": text}] if text is not None else []
    return {"resourceType": "Parameters", "parameter": parameters}


def break_glass(http: httpx.Client, patient_id: str, body: dict | None = None) -> httpx.Response:
    return http.post(
        f"/Patient/{patient_id}/$break-glass", json=body or reason(), headers=FHIR_JSON
    )


def signed_in_doctor(app: App, backend: Backend, record: Record, fhir_base: str) -> httpx.Client:
    """The doctor signed in through the authorization code flow, as the clinic app does."""
    add_person(backend, "practitioner", "dr-doe", f"Practitioner/{record.doctor}")
    issued = app.exchange(app.code("dr-doe", scope="openid fhirUser user/*.rs"))
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    return httpx.Client(
        base_url=fhir_base, timeout=30, headers={"Authorization": f"Bearer {token}"}
    )


def marked_reads(admin: httpx.Client, record: Record) -> list[dict]:
    """The AuditEvents an administrator finds by the break-glass label."""
    audit_trail.flush_all()
    found = admin.get(
        "/AuditEvent",
        params={"_security": f"{ACT_REASON}|BTG", "patient": record.patient, "_count": "100"},
    )
    assert found.status_code == 200, found.text
    return [e["resource"] for e in found.json().get("entry", [])]


def test_break_glass_grants_access_for_a_while(
    app: App, clean: Backend, record: Record, fhir_base: str, token_for: Caller
) -> None:
    now = datetime.now(UTC)
    clock.set_source(lambda: now)
    with signed_in_doctor(app, clean, record, fhir_base) as doctor:
        reaches(doctor, record, False)
        granted = break_glass(doctor, record.patient)
        assert granted.status_code == 200, granted.text
        values = {p["name"]: p for p in granted.json()["parameter"]}
        assert values["patient"]["valueReference"]["reference"] == f"Patient/{record.patient}"
        expires = datetime.fromisoformat(values["expires"]["valueInstant"])
        assert expires == now.replace(microsecond=now.microsecond // 1000 * 1000) + timedelta(
            minutes=60
        )
        reaches(doctor, record, True)
    clock.set_source(lambda: now + timedelta(minutes=61))
    reaches(as_practitioner(token_for, record.doctor), record, False)


def test_reads_under_break_glass_are_audited_for_review(record: Record, token_for: Caller) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    assert doctor.get(f"/DiagnosticReport/{record.report}").status_code == 404
    assert break_glass(doctor, record.patient).status_code == 200
    assert doctor.get(f"/DiagnosticReport/{record.report}").status_code == 200
    assert doctor.get("/Observation", params={"patient": record.patient}).status_code == 200
    events = marked_reads(as_admin(token_for), record)
    subtypes = sorted(e["subtype"][0]["code"] for e in events)
    assert subtypes == ["operation", "read", "search-type"]  # not the refused read before it
    for event in events:
        person = next(a for a in event["agent"] if a.get("requestor") and "reference" in a["who"])
        assert person["who"]["reference"] == f"Practitioner/{record.doctor}"
        purpose = person["purposeOfUse"][0]
        assert {c["code"] for c in purpose["coding"]} == {"ETREAT", "BTG"}
        assert purpose["text"] == EMERGENCY
        assert event["purposeOfEvent"] == [purpose]


def test_ordinary_care_is_not_marked(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    visit = appointment(record, "booked")
    assert client.post("/Appointment", json=visit, headers=FHIR_JSON).status_code == 201
    doctor = as_practitioner(token_for, record.doctor)
    assert doctor.get(f"/DiagnosticReport/{record.report}").status_code == 200
    assert marked_reads(as_admin(token_for), record) == []


@pytest.mark.parametrize("caller", ["citizen", "own citizen", "hospital", "admin", "platform"])
def test_only_a_practitioner_breaks_the_glass(
    client: httpx.Client, record: Record, token_for: Caller, caller: str
) -> None:
    other = client.post("/Patient", json={"resourceType": "Patient"}, headers=FHIR_JSON).json()[
        "id"
    ]
    http = {
        "citizen": lambda: as_citizen(token_for, other),
        "own citizen": lambda: as_citizen(token_for, record.patient),
        "hospital": lambda: as_hospital(token_for, record.org),
        "admin": lambda: as_admin(token_for),
        "platform": lambda: client,
    }[caller]()
    refused = break_glass(http, record.patient)
    assert refused.status_code == 403, refused.text
    assert refused.json()["issue"][0]["code"] == "forbidden"
    reaches(as_practitioner(token_for, record.doctor), record, False)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (reason(None), 400),
        (reason(""), 400),
        (reason("   "), 400),
        (reason("x" * 1001), 400),
        ({"resourceType": "Parameters", "parameter": [{"name": "reason", "valueInteger": 1}]}, 400),
        ({"resourceType": "Parameters", "parameter": [reason()["parameter"][0]] * 2}, 400),
    ],
    ids=["missing", "empty", "blank", "too long", "not a string", "twice"],
)
def test_a_reason_is_required(record: Record, token_for: Caller, body: dict, status: int) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    refused = break_glass(doctor, record.patient, body)
    assert refused.status_code == status, refused.text
    assert refused.json()["resourceType"] == "OperationOutcome"
    reaches(doctor, record, False)


def test_unknown_patients_and_other_ways_in(record: Record, token_for: Caller) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    unknown = break_glass(doctor, "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert doctor.get(f"/Patient/{record.patient}/$break-glass").status_code == 405
    by_query = doctor.post(f"/Patient/{record.patient}/$break-glass", params={"reason": EMERGENCY})
    assert by_query.status_code == 200, by_query.text  # a parameter in the URL counts too
    other_level = doctor.post("/Patient/$break-glass", json=reason(), headers=FHIR_JSON)
    assert other_level.status_code == 404
    on_a_report = doctor.post(
        f"/DiagnosticReport/{record.report}/$break-glass", json=reason(), headers=FHIR_JSON
    )
    assert on_a_report.status_code == 404


def test_the_log_is_listed_for_review_and_kept(
    clean: Backend, record: Record, token_for: Caller, tmp_path: Path
) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    assert break_glass(doctor, record.patient).status_code == 200
    env = {"MEDSVC_DATABASE_URL": clean.url, "MEDSVC_KEYS_DIR": str(tmp_path / "keys")}
    listed = medsvc("break-glass", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)["break_glass"]
    assert [(g["practitioner"], g["patient"], g["reason"]) for g in entries] == [
        (f"Practitioner/{record.doctor}", f"Patient/{record.patient}", EMERGENCY)
    ]
    later = medsvc("break-glass", "list", "--since", "2999-01-01T00:00:00Z", cwd=tmp_path, env=env)
    assert json.loads(later.stdout) == {"break_glass": []}
    refused = medsvc("break-glass", "list", "--since", "yesterday", cwd=tmp_path, env=env)
    assert refused.returncode == 2
    assert refused.stdout == ""
    for change in ("UPDATE break_glass SET expires_at = granted_at", "DELETE FROM break_glass"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            clean.database.session(write=True) as session,
        ):
            session.execute(text(change))


def test_the_operation_is_advertised_on_patient(token_for: Caller, record: Record) -> None:
    statement = as_practitioner(token_for, record.doctor).get("/metadata").json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")
    advertised = {o["name"]: o["definition"] for o in patient.get("operation", [])}
    assert advertised["break-glass"] == "urn:medsvc:OperationDefinition/Patient-break-glass"
