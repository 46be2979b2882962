"""The outbox: a topic's events are numbered in the transaction of the change that caused them,
for the subscriptions of the organization it concerns: bookings, cancellations and
reschedulings at its sites, its slots' availability, its results released; a change rolled
back leaves no event, and writers at once leave no gap and no number twice."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from medsvc.fhir import jsonio
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient, slot
from tests.fhir.test_search import post
from tests.results.test_pushes import push
from tests.results.test_release import release_job
from tests.scheduling.clinic import add_patient, add_slots, booked, hospital_context, parameters
from tests.subscriptions.conftest import Hospital, subscribe
from tests.subscriptions.receiver import Receiver

TOPICS = ("appointment-booked", "appointment-cancelled", "appointment-rescheduled")


def events(hospital: Hospital, subscription_id: str) -> list[str]:
    """The foci of the subscription's events, in number order."""
    found = hospital.http.get(f"/Subscription/{subscription_id}/$events").json()
    status = found["entry"][0]["resource"]
    numbers = [int(e["eventNumber"]) for e in status.get("notificationEvent", [])]
    assert numbers == list(range(1, len(numbers) + 1))
    return [e["focus"]["reference"] for e in status.get("notificationEvent", [])]


def test_bookings_cancellations_and_reschedulings_at_its_sites(
    client: httpx.Client, hospitals: Callable[[str], Hospital], receiver: Receiver
) -> None:
    north, south = hospitals("North"), hospitals("South")
    watched = {t: subscribe(north, t, receiver.url) for t in TOPICS}
    elsewhere = {t: subscribe(south, t, receiver.url) for t in TOPICS}
    first, second, third = add_slots(client, north.clinic.schedule, 3)
    patient_id = add_patient(client, "1")
    book = parameters(slot=f"Slot/{first}", patient_id=f"Patient/{patient_id}")
    old = booked(client.post("/Appointment/$book", json=book, headers=FHIR_JSON))["id"]
    again = parameters(
        slot=f"Slot/{second}",
        patient_id=f"Patient/{patient_id}",
        cancelled_appt_id=f"Appointment/{old}",
    )
    new = booked(client.post("/Appointment/$book", json=again, headers=FHIR_JSON))["id"]
    cancel = parameters(reason="Unwell")
    response = client.post(f"/Appointment/{new}/$cancel", json=cancel, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert events(north, watched["appointment-booked"]) == [
        f"Appointment/{old}",
        f"Appointment/{new}",
    ]
    assert events(north, watched["appointment-cancelled"]) == [
        f"Appointment/{old}",
        f"Appointment/{new}",
    ]
    assert events(north, watched["appointment-rescheduled"]) == [f"Appointment/{old}"]
    assert all(events(south, s) == [] for s in elsewhere.values())
    assert third


def test_a_result_released_to_its_patient(
    client: httpx.Client,
    clean: Backend,
    acting_as: Callable[..., httpx.Client],
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
) -> None:
    lab, other = hospitals("Lab"), hospitals("Other")
    post(client, patient("030370-789C"))
    system = acting_as(hospital_context(lab.clinic.organization))
    watched = subscribe(lab, "result-released", receiver.url)
    elsewhere = subscribe(other, "result-released", receiver.url)
    response = system.post("/", json=push("030370-789C", "R-1"), headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert events(lab, watched) == []  # released at once, told by the job
    release_job(clean)
    report = next(
        e["response"]["location"].split("/_history")[0].split("/fhir/")[1]
        for e in response.json()["entry"]
        if "DiagnosticReport" in e["response"]["location"]
    )
    assert events(lab, watched) == [report]
    assert events(other, elsewhere) == []


def test_a_change_rolled_back_leaves_no_event(
    client: httpx.Client, hospitals: Callable[[str], Hospital], receiver: Receiver
) -> None:
    hospital = hospitals("North")
    subscription_id = subscribe(hospital, "slot-availability", receiver.url)
    good = slot(
        f"Schedule/{hospital.clinic.schedule}", "2030-01-01T09:00:00Z", "2030-01-01T09:20:00Z"
    )
    bad = {**good, "status": "not-a-status"}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": "Slot"}} for r in (good, bad)
        ],
    }
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code in (400, 422), response.text
    assert events(hospital, subscription_id) == []
    assert (
        client.get("/Slot", params={"schedule": f"Schedule/{hospital.clinic.schedule}"}).json()[
            "total"
        ]
        == 0
    )


def test_writers_at_once_number_every_event_once(
    client: httpx.Client, hospitals: Callable[[str], Hospital], receiver: Receiver
) -> None:
    hospital = hospitals("North")
    subscription_id = subscribe(hospital, "slot-availability", receiver.url)

    def publish(n: int) -> str:
        start = f"2030-01-{n + 1:02d}T09:00:00Z"
        resource = slot(
            f"Schedule/{hospital.clinic.schedule}", start, start.replace("09:00", "09:20")
        )
        response = client.post("/Slot", content=jsonio.dumps(resource), headers=FHIR_JSON)
        assert response.status_code == 201, response.text
        return f"Slot/{response.json()['id']}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        published = list(pool.map(publish, range(24)))
    assert sorted(events(hospital, subscription_id)) == sorted(published)
