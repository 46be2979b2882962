"""The care relationship: a practitioner sees a patient's record while an appointment with
them is booked or attended and for care_days_after days after it, or while a hospital's
CareTeam names them within its period; never after a cancellation or a no-show."""

import itertools
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
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, practitioner
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
    assert ids_in(doctor.get("/DiagnosticReport")) == {record.report}
    for elsewhere in (
        f"/Observation/{record.result}",  # the report lists it; someone else performed it
        f"/Patient/{record.patient}",
        f"/DocumentReference/{record.document}",
        f"/Patient/{record.patient}/$everything",
    ):
        assert doctor.get(elsewhere).status_code == 404, elsewhere


def own_report(record: Record, results: list[str]) -> dict:
    """A report the doctor writes about the record's patient, naming themselves."""
    return {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": {"reference": f"Patient/{record.patient}"},
        "performer": [{"reference": f"Practitioner/{record.doctor}"}],
        "result": [{"reference": f"Observation/{result}"} for result in results],
        **REPORT_ESSENTIALS,
    }


def end_care(client: httpx.Client, record: Record, visit: str, how: str) -> None:
    """Cancels the visit, or moves the clock past the window after it."""
    if how == "cancelled":
        set_status(client, visit, record, "cancelled")
    else:
        at(VISIT + timedelta(days=31))


@pytest.mark.parametrize("how", ["cancelled", "window passed"])
def test_a_report_keeps_the_results_its_writer_performed_and_no_other(
    client: httpx.Client, record: Record, token_for: Caller, how: str
) -> None:
    visit = post(client, appointment(record, "booked" if how == "cancelled" else "fulfilled"))
    doctor = doctor_at(VISIT, token_for, record)
    performed = {**observation(f"Patient/{record.patient}")}
    performed["performer"] = [{"reference": f"Practitioner/{record.doctor}"}]
    mine = post(doctor, performed)["id"]
    report = post(doctor, own_report(record, [record.result, mine]))["id"]
    end_care(client, record, visit["id"], how)
    doctor = as_practitioner(token_for, record.doctor)
    assert doctor.get(f"/DiagnosticReport/{report}").status_code == 200
    assert doctor.get(f"/Observation/{mine}").status_code == 200
    for path in (f"/Observation/{record.result}", f"/Observation/{record.result}/_history/1"):
        assert doctor.get(path).status_code == 404, path
    include = {"_id": report, "_include": "DiagnosticReport:result"}
    listed_by_mine = {"_has:DiagnosticReport:result:performer": f"Practitioner/{record.doctor}"}
    for path, params, found in (
        ("/DiagnosticReport", include, {report, mine}),
        ("/Observation", {"_id": record.result}, set()),
        ("/Observation", {"patient": record.patient}, {mine}),
        ("/Observation", listed_by_mine, {mine}),
        ("/Observation", {}, {mine}),
    ):
        assert ids_in(doctor.get(path, params=params)) == found, (path, params)


# Ways to name oneself that the index reads as the same Practitioner.
SELF = ("Practitioner/{doctor}", "{base}/Practitioner/{doctor}", "Practitioner/{doctor}/_history/1")


def relabelled(http: httpx.Client, record: Record, spelling: str, how: str) -> httpx.Response:
    """The patient's result, changed by the doctor to name them as its performer."""
    me = {"reference": spelling.format(doctor=record.doctor, base=str(http.base_url).rstrip("/"))}
    url = f"/Observation/{record.result}"
    if how == "PATCH":
        add = [{"op": "add", "path": "/performer", "value": [me]}]
        patch = {"Content-Type": "application/json-patch+json"}
        return http.patch(url, json=add, headers=patch)
    changed = {**http.get(url).json(), "performer": [me]}
    if how == "PUT":
        return http.put(url, json=changed, headers=FHIR_JSON)
    entry = {"resource": changed, "request": {"method": "PUT", "url": url.lstrip("/")}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    return http.post("/", json=bundle, headers=FHIR_JSON)


# A conditional reference is resolved to Practitioner/id only in a transaction.
CASES = [
    *itertools.product(SELF, ("PUT", "PATCH", "transaction")),
    ("Practitioner?identifier=urn:city:practitioner|d1", "transaction"),
]


@pytest.mark.parametrize(("spelling", "how"), CASES)
def test_a_doctor_does_not_add_themselves_to_anothers_result(
    client: httpx.Client, record: Record, token_for: Caller, how: str, spelling: str
) -> None:
    booked = post(client, appointment(record, "booked"))["id"]
    doctor = as_practitioner(token_for, record.doctor)
    refused = relabelled(doctor, record, spelling, how)
    assert refused.status_code == 403, refused.text
    in_bundle = "Bundle.entry[0].resource." if how == "transaction" else "Observation."
    assert refused.json()["issue"][0]["expression"] == [f"{in_bundle}performer"]
    stored = client.get(f"/Observation/{record.result}").json()
    assert stored["meta"]["versionId"] == "1"
    assert "performer" not in stored
    set_status(client, booked, record, "cancelled")
    assert doctor.get(f"/Observation/{record.result}").status_code == 404


def test_a_doctor_named_in_a_record_corrects_it_and_the_hospital_names_them(
    client: httpx.Client, record: Record, token_for: Caller
) -> None:
    post(client, appointment(record, "booked"))
    doctor = as_practitioner(token_for, record.doctor)
    report_url = f"/DiagnosticReport/{record.report}"
    interpreted = client.get(report_url).json()
    interpreted["resultsInterpreter"] = [{"reference": f"Practitioner/{record.doctor}"}]
    refused = doctor.put(report_url, json=interpreted, headers=FHIR_JSON)
    assert refused.status_code == 403, refused.text
    assert refused.json()["issue"][0]["expression"] == ["DiagnosticReport.resultsInterpreter"]
    assert client.put(report_url, json=interpreted, headers=FHIR_JSON).status_code == 200
    corrected = {**doctor.get(report_url).json(), "conclusion": "Within normal limits"}
    assert doctor.put(report_url, json=corrected, headers=FHIR_JSON).status_code == 200
