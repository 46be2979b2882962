"""The care relationship: a practitioner sees a patient's record while an appointment with
them is booked or attended and for care_days_after days after it, or while a hospital's
CareTeam names them within its period; never after a cancellation or a no-show."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from medsvc import clock
from tests.access.conftest import (
    Caller,
    Record,
    appointment,
    as_citizen,
    as_hospital,
    as_practitioner,
    ids_in,
    post,
    reaches,
)
from tests.factories import FHIR_JSON, practitioner
from tests.scheduling.clinic import practitioner_context

VISIT = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


def at(moment: datetime) -> None:
    """Moves the clock; tokens are judged by it too, so callers sign in after it moves."""
    clock.set_source(lambda: moment)


def doctor_at(moment: datetime, token_for: Caller, record: Record) -> httpx.Client:
    at(moment)
    return as_practitioner(token_for, record.doctor)


# Other ways to ask for the patient's reports, or to learn about the patient through the
# doctor's own appointment (a chain, _has).
SPELLINGS = (
    ("/DiagnosticReport", {"subject": "Patient/{patient}"}),
    ("/DiagnosticReport", {"subject": "{base}/Patient/{patient}"}),
    ("/DiagnosticReport", {"subject:Patient": "{patient}"}),
    ("/DiagnosticReport", {"subject:Patient.name": "Virtanen"}),
    ("/DiagnosticReport", {"_id": "{report}"}),
    ("/Observation", {"patient": "{patient}"}),
    ("/Appointment", {"patient.name": "Virtanen"}),
    ("/Patient", {"_has:Appointment:patient:status": "booked,cancelled"}),
)


def spellings(http: httpx.Client, record: Record) -> list[bool]:
    """Whether each spelling finds anything."""
    names = {
        "patient": record.patient,
        "report": record.report,
        "base": str(http.base_url).rstrip("/"),
    }
    found = []
    for path, params in SPELLINGS:
        asked = {k: v.format(**names) for k, v in params.items()}
        response = http.get(path, params=asked)
        assert response.status_code == 200, (path, asked, response.text)
        found.append(response.json()["total"] > 0)
    return found


def set_status(client: httpx.Client, appointment_id: str, record: Record, status: str) -> None:
    changed = {**appointment(record, status), "id": appointment_id}
    response = client.put(f"/Appointment/{appointment_id}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 200, response.text


def test_a_booked_appointment_gives_access_until_it_is_cancelled(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    doctor = as_practitioner(token_for, record.doctor)
    reaches(doctor, record, False)
    booked = post(client, appointment(record, "booked"))["id"]
    reaches(doctor, record, True)
    assert spellings(doctor, record) == [True] * len(SPELLINGS)
    set_status(client, booked, record, "cancelled")
    reaches(doctor, record, False)
    assert spellings(doctor, record) == [False] * len(SPELLINGS)
    assert doctor.get(f"/DiagnosticReport/{record.report}").json()["issue"][0]["code"] == (
        "not-found"
    )
    # their own appointment stays on their schedule, without the patient
    mine = doctor.get("/Appointment", params={"_include": "Appointment:patient"})
    assert ids_in(mine) == {booked}


@pytest.mark.parametrize("status", ["arrived", "checked-in", "fulfilled"])
def test_an_attended_appointment_gives_access(
    client: httpx.Client, record: Record, token_for: Caller, status: str
) -> None:
    post(client, appointment(record, status))
    reaches(doctor_at(VISIT, token_for, record), record, True)


@pytest.mark.parametrize(
    "status", ["noshow", "cancelled", "entered-in-error", "proposed", "pending", "waitlist"]
)
def test_an_appointment_that_did_not_take_place_gives_nothing(
    client: httpx.Client, record: Record, token_for: Caller, status: str
) -> None:
    post(client, appointment(record, status))
    doctor = doctor_at(VISIT, token_for, record)
    reaches(doctor, record, False)
    assert record.patient not in ids_in(
        doctor.get("/Appointment", params={"_include": "Appointment:patient"})
    )


def test_access_lasts_care_days_after_the_visit(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    visit = post(client, appointment(record, "booked"))["id"]
    # booked long before the visit: in care from the booking on
    reaches(doctor_at(VISIT - timedelta(days=60), token_for, record), record, True)
    set_status(client, visit, record, "fulfilled")
    late_result = VISIT + timedelta(days=29, hours=23)
    reaches(doctor_at(late_result, token_for, record), record, True)
    after = VISIT + timedelta(days=30, minutes=1)
    reaches(doctor_at(after, token_for, record), record, False)


def test_the_window_is_the_deployments_setting(
    client: httpx.Client, record: Record, acting_as: Callable[..., httpx.Client]
) -> None:
    post(client, appointment(record, "fulfilled"))
    at(VISIT + timedelta(days=8))
    doctor = practitioner_context(record.doctor)
    reaches(acting_as(doctor, care_days_after=7), record, False)
    reaches(acting_as(doctor, care_days_after=9), record, True)


def test_one_doctors_appointment_gives_another_nothing(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    post(client, appointment(record, "booked"))
    colleague = post(client, practitioner("d2", "Dahl"))["id"]
    reaches(as_practitioner(token_for, colleague), record, False)


def care_team(record: Record, start: str, end: str | None, status: str = "active") -> dict:
    period = {"start": start} | ({"end": end} if end else {})
    return {
        "resourceType": "CareTeam",
        "status": status,
        "subject": {"reference": "Patient?identifier=urn:oid:1.2.246.21|010101-1234"},
        "period": period,
        "participant": [{"member": {"reference": f"Practitioner/{record.doctor}"}}],
    }


def record_care(hospital: httpx.Client, team: dict) -> httpx.Response:
    """A hospital records a CareTeam as it pushes: naming the patient by identifier."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": team, "request": {"method": "POST", "url": "CareTeam"}}],
    }
    return hospital.post("/", json=bundle, headers=FHIR_JSON)


def test_a_care_team_gives_access_within_its_period(record: Record, token_for: Caller) -> None:
    hospital = as_hospital(token_for, record.org)
    team = care_team(record, "2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z")
    assert record_care(hospital, team).status_code == 200
    before = datetime(2029, 12, 31, 23, 59, tzinfo=UTC)
    reaches(doctor_at(before, token_for, record), record, False)
    reaches(doctor_at(datetime(2030, 1, 15, tzinfo=UTC), token_for, record), record, True)
    after = datetime(2030, 2, 1, 0, 1, tzinfo=UTC)
    reaches(doctor_at(after, token_for, record), record, False)


@pytest.mark.parametrize("status", ["proposed", "suspended", "inactive", "entered-in-error"])
def test_a_care_team_that_is_not_active_gives_nothing(
    record: Record, token_for: Caller, status: str
) -> None:
    team = care_team(record, "2030-01-01T00:00:00Z", None, status)
    assert record_care(as_hospital(token_for, record.org), team).status_code == 200
    reaches(doctor_at(datetime(2030, 1, 15, tzinfo=UTC), token_for, record), record, False)


def test_only_a_hospital_records_care_for_its_own_practitioners(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    team = care_team(record, "2030-01-01T00:00:00Z", None)
    literal = {**team, "subject": {"reference": f"Patient/{record.patient}"}}
    stranger = post(client, practitioner("d9", "Stranger"))["id"]
    for_stranger = {**team, "participant": [{"member": {"reference": f"Practitioner/{stranger}"}}]}
    with_own_period = {
        **team,
        "participant": [{**team["participant"][0], "period": {"start": "2030-01-01"}}],
    }
    hospital = as_hospital(token_for, record.org)
    refusals = {
        "citizen": as_citizen(token_for, record.patient).post(
            "/CareTeam", json=literal, headers=FHIR_JSON
        ),
        "the doctor themselves": as_practitioner(token_for, record.doctor).post(
            "/CareTeam", json=literal, headers=FHIR_JSON
        ),
        "another hospital's practitioner": record_care(hospital, for_stranger),
        "a participant's own period": record_care(hospital, with_own_period),
    }
    statuses = {name: response.status_code for name, response in refusals.items()}
    assert statuses == {
        "citizen": 403,
        "the doctor themselves": 403,
        "another hospital's practitioner": 403,
        "a participant's own period": 422,
    }
    assert client.get("/CareTeam", params={"_summary": "count"}).json()["total"] == 0
    reaches(doctor_at(datetime(2030, 1, 15, tzinfo=UTC), token_for, record), record, False)


def test_a_performer_keeps_their_report_and_nothing_else(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    report = client.get(f"/DiagnosticReport/{record.report}").json()
    report["performer"] = [{"reference": f"Practitioner/{record.doctor}"}]
    report_url = f"/DiagnosticReport/{record.report}"
    assert client.put(report_url, json=report, headers=FHIR_JSON).status_code == 200
    doctor = as_practitioner(token_for, record.doctor)
    assert doctor.get(report_url).status_code == 200
    assert doctor.get(f"/Observation/{record.result}").status_code == 200
    assert ids_in(doctor.get("/DiagnosticReport")) == {record.report}
    for elsewhere in (
        f"/Patient/{record.patient}",
        f"/DocumentReference/{record.document}",
        f"/Patient/{record.patient}/$everything",
    ):
        assert doctor.get(elsewhere).status_code == 404, elsewhere
