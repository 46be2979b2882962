"""Who may find, hold, book and cancel what: scopes, compartments and organizations hold on
every scheduling operation, and a refused one changes nothing."""

import httpx

from medsvc.security.context import AuthContext
from tests.conftest import LiveServer
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import (
    Clinic,
    Open,
    add_patient,
    add_slots,
    booked,
    citizen_context,
    hospital_context,
    open_clinic,
    parameters,
)

FIND = {"start": "2030-01-01", "end": "2030-01-02"}


def reader(patient_id: str) -> AuthContext:
    """A citizen's app that was granted reading only."""
    return AuthContext(
        subject="reader",
        client_id="app",
        patient=f"Patient/{patient_id}",
        role="patient",
        scopes=frozenset({"patient/Appointment.rs", "patient/Slot.rs"}),
    )


def test_operations_need_their_scopes(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    me = add_patient(client, "1")
    mine = booked(
        acting_as(citizen_context(me)).post(
            "/Appointment/$book", json=parameters(slot=f"Slot/{slot}")
        )
    )
    app = acting_as(reader(me))
    for path, body in (
        ("/Appointment/$hold", parameters(slot=f"Slot/{slot}")),
        ("/Appointment/$book", parameters(slot=f"Slot/{slot}")),
        (f"/Appointment/{mine['id']}/$cancel", parameters()),
    ):
        response = app.post(path, json=body, headers=FHIR_JSON)
        assert response.status_code == 403, (path, response.text)
    assert app.post("/Appointment/$find", json=parameters(**FIND)).status_code == 200
    blind = acting_as(
        AuthContext(
            subject="x",
            client_id="app",
            patient=f"Patient/{me}",
            role="patient",
            scopes=frozenset({"patient/Appointment.cruds"}),
        )
    )
    assert blind.post("/Appointment/$find", json=parameters(**FIND)).status_code == 403
    assert client.get(f"/Appointment/{mine['id']}").json()["status"] == "booked"


def test_a_citizen_reaches_no_one_elses_appointment(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    first, second = add_slots(client, clinic.schedule, 2)
    victim = acting_as(citizen_context(add_patient(client, "1")))
    held = booked(victim.post("/Appointment/$hold", json=parameters(slot=f"Slot/{first}")))
    attacker = acting_as(citizen_context(add_patient(client, "2")))
    attempts = (
        (f"/Appointment/{held['id']}/$cancel", parameters()),
        ("/Appointment/$book", parameters(appt_id=f"Appointment/{held['id']}")),
        ("/Appointment/$hold", parameters(appt_id=f"Appointment/{held['id']}")),
        (
            "/Appointment/$book",
            parameters(slot=f"Slot/{second}", cancelled_appt_id=f"Appointment/{held['id']}"),
        ),
    )
    for path, body in attempts:
        response = attacker.post(path, json=body, headers=FHIR_JSON)
        assert response.status_code == 404, (path, response.text)
    assert client.get(f"/Appointment/{held['id']}").json() == held
    assert client.get(f"/Slot/{second}").json()["status"] == "free"


def test_a_hospital_reaches_only_its_own_appointments_and_patients(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    other = open_clinic(client, "Elsewhere")
    [slot] = add_slots(client, clinic.schedule, 1)
    [theirs] = add_slots(client, other.schedule, 1)
    me = add_patient(client, "1")
    mine = booked(
        acting_as(citizen_context(me)).post(
            "/Appointment/$book", json=parameters(slot=f"Slot/{slot}")
        )
    )
    outsider = acting_as(hospital_context(other.organization))
    response = outsider.post(
        f"/Appointment/{mine['id']}/$cancel", json=parameters(reason="x"), headers=FHIR_JSON
    )
    assert response.status_code == 404, response.text
    stranger = add_patient(client, "2")
    response = outsider.post(
        "/Appointment/$book",
        json=parameters(slot=f"Slot/{theirs}", patient_id=f"Patient/{stranger}"),
        headers=FHIR_JSON,
    )
    assert response.status_code == 403, response.text
    assert client.get(f"/Appointment/{mine['id']}").json()["status"] == "booked"
    assert client.get(f"/Slot/{theirs}").json()["status"] == "free"


def test_an_administrator_books_nothing(
    client: httpx.Client, clinic: Clinic, acting_as: Open
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    patient = add_patient(client, "1")
    admin = acting_as(
        AuthContext(
            subject="admin", client_id="app", role="admin", scopes=frozenset({"user/*.cruds"})
        )
    )
    response = admin.post(
        "/Appointment/$book",
        json=parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{patient}"),
        headers=FHIR_JSON,
    )
    assert response.status_code in (403, 404), response.text
    assert client.get(f"/Slot/{slot}").json()["status"] == "free"


def test_operations_need_a_token(smart_server: LiveServer, client: httpx.Client) -> None:
    with httpx.Client(base_url=smart_server.url + "/fhir") as anonymous:
        for path in ("/Appointment/$find", "/Appointment/$book", "/Appointment/$hold"):
            response = anonymous.post(path, json=parameters(**FIND), headers=FHIR_JSON)
            assert response.status_code == 401, (path, response.text)
