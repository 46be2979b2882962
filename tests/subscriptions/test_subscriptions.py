"""A hospital subscribes to a published topic, for its own organization's events only, with
an endpoint the service may send to; what it may not ask for is 422 naming the element."""

from collections.abc import Callable

import httpx
import pytest

from medsvc.security.context import AuthContext
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import Open, add_patient, add_slots, citizen_context
from tests.subscriptions.conftest import Hospital, subscribe, subscription
from tests.subscriptions.receiver import Receiver

Deliver = Callable[..., int]


def refused(response: httpx.Response, status: int, expression: str | None = None) -> None:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    if expression is not None:
        assert any(expression in i.get("expression", []) for i in outcome["issue"]), outcome


@pytest.mark.parametrize(
    ("change", "expression"),
    [
        ({"criteria": "urn:medsvc:SubscriptionTopic/everything"}, "Subscription.criteria"),
        ({"channel": {"type": "websocket"}}, "Subscription.channel.type"),
        ({"endpoint": "http://hospital.example/notify"}, "Subscription.channel.endpoint"),
        ({"endpoint": "https://user:secret@hospital.example/n"}, "Subscription.channel.endpoint"),
        ({"payload": "application/fhir+xml"}, "Subscription.channel.payload"),
        ({"content": "everything"}, "Subscription.channel.payload"),
        ({"header": ["no colon"]}, "Subscription.channel.header"),
        ({"status": "active"}, "Subscription.status"),
    ],
)
def test_what_a_hospital_may_not_ask_for_is_422(
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    change: dict[str, object],
    expression: str,
) -> None:
    hospital = hospitals("North")
    resource = subscription("slot-availability", receiver.url)
    channel = resource["channel"]
    for name, value in change.items():
        if name in ("endpoint", "payload", "header"):
            channel[name] = value
        elif name == "content":
            channel["_payload"]["extension"][0]["valueCode"] = value
        elif name == "channel":
            channel.update(value)  # type: ignore[call-overload]
        else:
            resource[name] = value
    response = hospital.http.post("/Subscription", json=resource, headers=FHIR_JSON)
    refused(response, 422, expression)
    assert hospital.http.get("/Subscription").json().get("total", 0) == 0


def test_an_https_endpoint_is_accepted_and_the_topic_never_changes(
    hospitals: Callable[[str], Hospital],
) -> None:
    hospital = hospitals("North")
    subscription_id = subscribe(hospital, "slot-availability", "https://hospital.example/notify")
    current = hospital.http.get(f"/Subscription/{subscription_id}").json()
    moved = {**current, "criteria": "urn:medsvc:SubscriptionTopic/appointment-booked"}
    response = hospital.http.put(f"/Subscription/{subscription_id}", json=moved)
    refused(response, 422, "Subscription.criteria")
    stopped = hospital.http.put(
        f"/Subscription/{subscription_id}", json={**current, "status": "off"}
    )
    assert stopped.status_code == 200, stopped.text


def test_a_citizen_cannot_subscribe_nor_see_one_and_the_platform_cannot_subscribe(
    client: httpx.Client,
    acting_as: Open,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
) -> None:
    citizen = acting_as(citizen_context(add_patient(client, "1")))
    body = subscription("slot-availability", receiver.url)
    assert citizen.post("/Subscription", json=body, headers=FHIR_JSON).status_code == 403
    refused(client.post("/Subscription", json=body, headers=FHIR_JSON), 403)
    theirs = subscribe(hospitals("North"), "slot-availability", receiver.url)
    for path in ("", "/$status", "/$events"):  # a hospital's, not the citizen's to see
        refused(citizen.get(f"/Subscription/{theirs}{path}"), 404)
    assert citizen.get("/Subscription").json()["total"] == 0


def test_a_hospital_never_sees_another_hospitals_subscription_or_events(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    north, south = hospitals("North"), hospitals("South")
    south_receiver = Receiver().up()
    try:
        mine = subscribe(north, "slot-availability", receiver.url)
        theirs = subscribe(south, "slot-availability", south_receiver.url)
        add_slots(client, north.clinic.schedule, 3)
        deliver()
        deliver()
        assert receiver.event_numbers() == [1, 2, 3]
        assert south_receiver.of_kind("handshake")
        assert south_receiver.event_numbers() == []
    finally:
        south_receiver.down()
    for path in ("", "/$status", "/$events"):
        refused(south.http.get(f"/Subscription/{mine}{path}"), 404)
    assert south.http.get("/Subscription").json()["entry"][0]["resource"]["id"] == theirs
    status = south.http.get(f"/Subscription/{theirs}/$status").json()
    assert status["entry"][0]["resource"]["eventsSinceSubscriptionStart"] == "0"


def test_events_can_be_read_again_by_number(
    client: httpx.Client, hospitals: Callable[[str], Hospital], receiver: Receiver
) -> None:
    hospital = hospitals("North")
    subscription_id = subscribe(hospital, "slot-availability", receiver.url)
    slots = add_slots(client, hospital.clinic.schedule, 4)
    found = hospital.http.get(
        f"/Subscription/{subscription_id}/$events",
        params={"eventsSinceNumber": "2", "eventsUntilNumber": "3"},
    ).json()
    status = found["entry"][0]["resource"]
    assert (status["type"], status["eventsSinceSubscriptionStart"]) == ("query-event", "4")
    assert [e["focus"]["reference"] for e in status["notificationEvent"]] == [
        f"Slot/{s}" for s in slots[1:3]
    ]
    assert [e["fullUrl"].split("/fhir/")[1] for e in found["entry"][1:]] == [
        f"Slot/{s}" for s in slots[1:3]
    ]
    bad = hospital.http.get(
        f"/Subscription/{subscription_id}/$events", params={"eventsSinceNumber": "two"}
    )
    refused(bad, 400)


def test_each_path_asks_for_its_scope(
    hospitals: Callable[[str], Hospital], acting_as: Open, receiver: Receiver
) -> None:
    hospital = hospitals("North")
    subscription_id = subscribe(hospital, "slot-availability", receiver.url)
    organization = hospital.clinic.organization
    no_grant = acting_as(
        AuthContext(subject="app", client_id="app", organization=f"Organization/{organization}")
    )
    reader = acting_as(
        AuthContext(
            subject="reader",
            client_id="reader",
            organization=f"Organization/{organization}",
            scopes=frozenset({"system/Subscription.rs"}),
        ),
        subscription_http_hosts="127.0.0.1",
    )
    body = subscription("slot-availability", receiver.url)
    for path in ("", "/$status", "/$events"):
        refused(no_grant.get(f"/Subscription/{subscription_id}{path}"), 403)
        assert reader.get(f"/Subscription/{subscription_id}{path}").status_code == 200
    refused(no_grant.post("/Subscription", json=body, headers=FHIR_JSON), 403)
    refused(reader.post("/Subscription", json=body, headers=FHIR_JSON), 403)
    assert len(hospital.http.get("/Subscription").json()["entry"]) == 1


def test_the_platform_may_stop_a_subscription_and_change_nothing_else(
    client: httpx.Client, hospitals: Callable[[str], Hospital], receiver: Receiver
) -> None:
    hospital = hospitals("North")
    subscription_id = subscribe(hospital, "slot-availability", receiver.url)
    current = client.get(f"/Subscription/{subscription_id}").json()
    elsewhere = {**current, "channel": {**current["channel"], "endpoint": "http://10.0.0.1/"}}
    refused(client.put(f"/Subscription/{subscription_id}", json=elsewhere), 403)
    stopped = client.put(f"/Subscription/{subscription_id}", json={**current, "status": "off"})
    assert stopped.status_code == 200, stopped.text
    assert (
        hospital.http.get(f"/Subscription/{subscription_id}").json()["channel"]
        == current["channel"]
    )
