"""Doctors' schedules: a doctor's appointments of a day, a week or a month with their
patients, and the slots of their schedules; and their answers to an appointment."""

from datetime import timedelta

import httpx
import pytest

from medsvc import clock
from medsvc.fhir.datetimes import format_instant
from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import (
    Clinic,
    Open,
    add_patient,
    add_slots,
    booked,
    citizen_context,
    open_clinic,
    parameters,
)

MONDAY = (clock.now() + timedelta(days=7 - clock.now().weekday() + 7)).replace(
    hour=8, minute=0, second=0, microsecond=0
)


def doctor_context(clinic: Clinic) -> AuthContext:
    return AuthContext(
        subject="dr",
        client_id="app",
        practitioner=f"Practitioner/{clinic.practitioner}",
        role="practitioner",
        scopes=frozenset({"user/*.cruds"}),
    )


@pytest.fixture
def week(client: httpx.Client) -> tuple[Clinic, Clinic, list[str]]:
    """Bookings at two clinics: one a day for five days at the first, one at the other."""
    mine, theirs = open_clinic(client, "North"), open_clinic(client, "South")
    patients = []
    for day in range(5):
        [slot] = add_slots(client, mine.schedule, 1, first=MONDAY + timedelta(days=day))
        patient = add_patient(client, f"p{day}")
        patients.append(patient)
        book(client, slot, patient)
    [elsewhere] = add_slots(client, theirs.schedule, 1, first=MONDAY)
    book(client, elsewhere, add_patient(client, "x"))
    return mine, theirs, patients


def book(client: httpx.Client, slot: str, patient: str) -> None:
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{patient}")
    booked(client.post("/Appointment/$book", json=body, headers=FHIR_JSON))


def schedule_of(doctor: httpx.Client, clinic: Clinic, days: int) -> dict[str, object]:
    response = doctor.get(
        "/Appointment",
        params=[
            ("practitioner", f"Practitioner/{clinic.practitioner}"),
            ("date", f"ge{format_instant(MONDAY)}"),
            ("date", f"lt{format_instant(MONDAY + timedelta(days=days))}"),
            ("_include", "Appointment:patient"),
            ("_sort", "date"),
        ],
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_doctor_reads_a_day_a_week_and_a_month(
    week: tuple[Clinic, Clinic, list[str]], acting_as: Open
) -> None:
    mine, _theirs, patients = week
    doctor = acting_as(doctor_context(mine))
    for days, expected in ((1, 1), (7, 5), (31, 5)):
        bundle = schedule_of(doctor, mine, days)
        matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]  # type: ignore[index, union-attr]
        included = [e for e in bundle["entry"] if e["search"]["mode"] == "include"]  # type: ignore[index, union-attr]
        assert len(matches) == expected
        assert {e["resource"]["id"] for e in included} == set(patients[:expected])
        starts = [e["resource"]["start"] for e in matches]
        assert starts == sorted(starts)


def test_a_doctor_sees_no_other_doctors_schedule(
    week: tuple[Clinic, Clinic, list[str]], acting_as: Open
) -> None:
    mine, theirs, _patients = week
    doctor = acting_as(doctor_context(mine))
    assert schedule_of(doctor, theirs, 7).get("entry", []) == []


def test_a_doctor_reads_the_slots_of_their_schedules(
    client: httpx.Client, week: tuple[Clinic, Clinic, list[str]], acting_as: Open
) -> None:
    mine, _theirs, _patients = week
    add_slots(client, mine.schedule, 3, first=MONDAY + timedelta(days=1, hours=2))
    doctor = acting_as(doctor_context(mine))
    response = doctor.get(
        "/Slot", params={"schedule.actor": f"Practitioner/{mine.practitioner}", "_count": 100}
    )
    assert response.status_code == 200, response.text
    statuses = sorted(e["resource"]["status"] for e in response.json()["entry"])
    assert statuses == ["busy"] * 5 + ["free"] * 3


def test_a_doctor_who_declines_cancels_the_appointment(
    client: httpx.Client, week: tuple[Clinic, Clinic, list[str]], acting_as: Open
) -> None:
    mine, _theirs, _patients = week
    doctor = acting_as(doctor_context(mine))
    appointment = schedule_of(doctor, mine, 1)["entry"][0]["resource"]  # type: ignore[index]
    answer = {
        "resourceType": "AppointmentResponse",
        "appointment": {"reference": f"Appointment/{appointment['id']}"},
        "actor": {"reference": f"Practitioner/{mine.practitioner}"},
        "participantStatus": "declined",
    }
    response = doctor.post("/AppointmentResponse", json=answer, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    now = client.get(f"/Appointment/{appointment['id']}").json()
    assert now["status"] == "cancelled"
    slot = now["slot"][0]["reference"]
    assert client.get(f"/{slot}").json()["status"] == "free"


def test_nobody_answers_for_someone_else(
    week: tuple[Clinic, Clinic, list[str]], acting_as: Open, client: httpx.Client
) -> None:
    mine, theirs, patients = week
    doctor = acting_as(doctor_context(mine))
    appointment = schedule_of(doctor, mine, 1)["entry"][0]["resource"]  # type: ignore[index]
    citizen = acting_as(citizen_context(patients[0]))
    for http, actor in (
        (citizen, f"Practitioner/{mine.practitioner}"),
        (doctor, f"Patient/{patients[0]}"),
        (doctor, f"Practitioner/{theirs.practitioner}"),
    ):
        answer = {
            "resourceType": "AppointmentResponse",
            "appointment": {"reference": f"Appointment/{appointment['id']}"},
            "actor": {"reference": actor},
            "participantStatus": "declined",
        }
        response = http.post("/AppointmentResponse", json=answer, headers=FHIR_JSON)
        assert response.status_code == 403, response.text
    assert client.get(f"/Appointment/{appointment['id']}").json()["status"] == "booked"
