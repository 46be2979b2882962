"""Appointment/$find: free slots in a window as proposed Appointments, by start time,
narrowed by what the caller asks for, never offering held or booked time."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from medsvc import clock
from medsvc.fhir.datetimes import format_instant
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import (
    CARDIOLOGY,
    Open,
    add_patient,
    add_slots,
    booked,
    citizen_context,
    open_clinic,
    parameters,
)

DAY = (clock.now() + timedelta(days=5)).replace(hour=8, minute=0, second=0, microsecond=0)


def find(http: httpx.Client, **inputs: Any) -> dict[str, Any]:
    inputs.setdefault("start", format_instant(DAY))
    inputs.setdefault("end", format_instant(DAY + timedelta(days=1)))
    response = http.post("/Appointment/$find", json=parameters(**inputs), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    return dict(response.json())


def slots_of(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["slot"][0]["reference"].split("/")[1] for e in bundle["entry"]]


@pytest.fixture
def city(client: httpx.Client) -> dict[str, Any]:
    north, south = open_clinic(client, "North"), open_clinic(client, "South")
    return {
        "north": north,
        "south": south,
        "north_slots": add_slots(client, north.schedule, 4, first=DAY),
        "south_slots": add_slots(client, south.schedule, 4, first=DAY + timedelta(minutes=10)),
    }


def test_find_offers_free_slots_by_start_as_proposed_appointments(
    client: httpx.Client, city: dict[str, Any]
) -> None:
    found = find(client)
    assert found["total"] == 8
    starts = [e["resource"]["start"] for e in found["entry"]]
    assert starts == sorted(starts)
    first = found["entry"][0]["resource"]
    assert first["status"] == "proposed"
    assert first["serviceType"] == [CARDIOLOGY]
    actors = {p["actor"]["reference"] for p in first["participant"]}
    assert f"Practitioner/{city['north'].practitioner}" in actors
    assert {p["status"] for p in first["participant"]} == {"needs-action"}


def test_find_honours_count_and_reports_the_total(
    client: httpx.Client, city: dict[str, Any]
) -> None:
    found = find(client, _count=3)
    assert found["total"] == 8
    assert len(found["entry"]) == 3


def test_find_narrows_by_practitioner_organization_location_and_codes(
    client: httpx.Client, city: dict[str, Any]
) -> None:
    north, south = city["north"], city["south"]
    by_doctor = find(client, practitioner=f"Practitioner/{north.practitioner}")
    assert set(slots_of(by_doctor)) == set(city["north_slots"])
    by_org = find(client, organization=f"Organization/{south.organization}")
    assert set(slots_of(by_org)) == set(city["south_slots"])
    by_place = find(client, location=f"Location/{south.location}")
    assert set(slots_of(by_place)) == set(city["south_slots"])
    assert find(client, service_type="http://snomed.info/sct|394579002")["total"] == 8
    assert find(client, specialty="http://snomed.info/sct|394579002")["total"] == 0


def test_find_reads_codes_in_token_syntax(client: httpx.Client, city: dict[str, Any]) -> None:
    """code, system|code, system| (any code of it) and |code (a code without a system), as
    the search of the same parameter reads them."""
    assert find(client, service_type="394579002")["total"] == 8
    assert find(client, service_type="http://snomed.info/sct|")["total"] == 8
    assert find(client, service_type="|394579002")["total"] == 0
    assert find(client, service_type="http://loinc.org|")["total"] == 0
    assert find(client, service_type=["http://loinc.org|1", "394579002"])["total"] == 8


def test_find_never_offers_held_or_booked_time(
    client: httpx.Client, city: dict[str, Any], acting_as: Open
) -> None:
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    held, taken = city["north_slots"][:2]
    booked(citizen.post("/Appointment/$hold", json=parameters(slot=f"Slot/{held}")))
    other = acting_as(citizen_context(add_patient(client, "2")))
    booked(other.post("/Appointment/$book", json=parameters(slot=f"Slot/{taken}")))
    offered = slots_of(find(citizen))
    assert held not in offered
    assert taken not in offered
    assert len(offered) == 6


def test_a_proposal_from_find_is_booked_as_sent(
    client: httpx.Client, city: dict[str, Any], acting_as: Open
) -> None:
    me = add_patient(client, "1")
    citizen = acting_as(citizen_context(me))
    proposal = find(citizen, _count=1)["entry"][0]["resource"]
    assert proposal["participant"][0]["actor"]["reference"] == f"Patient/{me}"
    appointment = booked(
        citizen.post("/Appointment/$book", json=parameters(appt_resource=proposal))
    )
    assert appointment["slot"] == proposal["slot"]
    assert appointment["start"] == proposal["start"]
    assert find(citizen)["total"] == 7


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"start": "tomorrow"}, "not a FHIR date"),
        ({"end": format_instant(DAY - timedelta(hours=1))}, "start before end"),
        ({"practitioner": "Location/123"}, "Practitioner/123"),
        ({"_count": "-1"}, "_count"),
    ],
)
def test_bad_find_inputs_are_400(
    client: httpx.Client, inputs: dict[str, str], message: str
) -> None:
    base = {"start": format_instant(DAY), "end": format_instant(DAY + timedelta(days=1))}
    body = parameters(**{**base, **inputs})
    response = client.post("/Appointment/$find", json=body, headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert message in response.json()["issue"][0]["diagnostics"]


def test_a_misspelt_reference_input_is_422_naming_it(client: httpx.Client) -> None:
    window = {"start": format_instant(DAY), "end": format_instant(DAY + timedelta(days=1))}
    body = parameters(**window, practitioner="Dr Who")
    response = client.post("/Appointment/$find", json=body, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["Parameters.parameter.where(name = 'practitioner')"]


def test_a_coded_input_must_be_a_token(client: httpx.Client) -> None:
    concept = {"coding": [{"system": "http://snomed.info/sct", "code": "394579002"}]}
    body = parameters(start=format_instant(DAY), end=format_instant(DAY + timedelta(days=1)))
    body["parameter"].append({"name": "specialty", "valueCodeableConcept": concept})
    response = client.post("/Appointment/$find", json=body, headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert "system|code" in response.json()["issue"][0]["diagnostics"]


def test_find_by_get_with_url_parameters(client: httpx.Client, city: dict[str, Any]) -> None:
    response = client.get(
        "/Appointment/$find",
        params={
            "start": format_instant(DAY),
            "end": format_instant(DAY + timedelta(days=1)),
            "practitioner": f"Practitioner/{city['south'].practitioner}",
        },
    )
    assert response.status_code == 200, response.text
    assert set(slots_of(response.json())) == set(city["south_slots"])


def test_find_leaves_out_unavailable_and_deleted_slots(
    client: httpx.Client, city: dict[str, Any]
) -> None:
    closed, gone = city["north_slots"][:2]
    current = client.get(f"/Slot/{closed}").json()
    response = client.put(
        f"/Slot/{closed}", json={**current, "status": "busy-unavailable"}, headers=FHIR_JSON
    )
    assert response.status_code == 200, response.text
    assert client.delete(f"/Slot/{gone}").status_code == 204
    offered = slots_of(find(client))
    assert closed not in offered
    assert gone not in offered


def test_find_is_a_read_that_answers_while_a_booking_holds_the_writer(
    client: httpx.Client, city: dict[str, Any], clean: Backend
) -> None:
    """$find changes nothing, so it runs as a read: on SQLite it neither waits for the one
    writer nor holds it up (a write transaction is open while it answers)."""
    with clean.database.session(write=True) as writing:
        writing.execute(text("UPDATE slot_ledger SET taken = taken WHERE 1 = 0"))
        response = client.post(
            "/Appointment/$find",
            json=parameters(start=format_instant(DAY), end=format_instant(DAY + timedelta(days=1))),
            headers=FHIR_JSON,
            timeout=3,
        )
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 8
