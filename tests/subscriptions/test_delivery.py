"""Notifications reach a hospital's endpoint: the handshake first, then every event in order,
none lost while the endpoint is down, none sent twice by one attempt, each signed; after the
retry window a subscription that cannot be reached is set to error."""

import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
from joserfc.jwk import KeySet

from medsvc import clock
from medsvc.subscriptions import signature
from tests.conftest import LiveServer
from tests.scheduling.clinic import add_slots
from tests.subscriptions.conftest import BACKPORT, Hospital, subscribe
from tests.subscriptions.receiver import Receiver

Deliver = Callable[..., int]


def active(hospital: Hospital, receiver: Receiver, deliver: Deliver, topic: str) -> str:
    """A subscription whose endpoint has answered its handshake."""
    subscription_id = subscribe(hospital, topic, receiver.url)
    deliver()
    [handshake] = receiver.of_kind("handshake")
    assert handshake.status["subscription"]["reference"].endswith(
        f"/Subscription/{subscription_id}"
    )
    assert hospital.http.get(f"/Subscription/{subscription_id}").json()["status"] == "active"
    return subscription_id


def test_the_handshake_makes_a_subscription_active(
    hospitals: Callable[[str], Hospital], receiver: Receiver, deliver: Deliver
) -> None:
    hospital = hospitals("North")
    subscription_id = active(hospital, receiver, deliver, "slot-availability")
    status = hospital.http.get(f"/Subscription/{subscription_id}/$status").json()
    [entry] = status["entry"]
    assert entry["resource"]["type"] == "query-status"
    assert entry["resource"]["status"] == "active"
    assert entry["resource"]["eventsSinceSubscriptionStart"] == "0"


def test_events_wait_for_an_endpoint_that_is_down_and_arrive_in_order(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    active(hospital, receiver, deliver, "slot-availability")
    receiver.down()
    slots = add_slots(client, hospital.clinic.schedule, 5)
    deliver()
    assert receiver.event_numbers() == []
    later = clock.now() + timedelta(minutes=5)
    deliver(later)  # still down: the wait before the next attempt grows
    receiver.up()
    deliver(later + timedelta(hours=1))
    assert receiver.event_numbers() == [1, 2, 3, 4, 5]
    assert receiver.foci() == [f"Slot/{s}" for s in slots]


def test_each_event_is_sent_once_by_two_workers_delivering_at_once(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    active(hospital, receiver, deliver, "slot-availability")
    for _ in range(6):
        add_slots(client, hospital.clinic.schedule, 5)
        workers = [threading.Thread(target=deliver) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    deliver()
    assert receiver.event_numbers() == list(range(1, 31))


def test_notifications_are_signed_with_the_published_keys(
    live_server: LiveServer,
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    active(hospital, receiver, deliver, "slot-availability")
    add_slots(client, hospital.clinic.schedule, 1)
    deliver()
    published = httpx.get(f"{live_server.url}/auth/notification-keys").json()
    keys = KeySet.import_key_set(published)
    for received in receiver.received:
        signed = received.headers[signature.HEADER]
        assert signature.verify(keys, received.body, signed)
        assert not signature.verify(keys, received.body.replace(b'"history"', b'"batch"'), signed)
    tokens = KeySet.import_key_set(httpx.get(f"{live_server.url}/auth/jwks").json())
    assert not signature.verify(tokens, receiver.received[-1].body, signed)


def test_full_resource_notifications_carry_the_version_of_the_event(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    subscribe(hospital, "slot-availability", receiver.url, content="full-resource")
    deliver()
    [slot] = add_slots(client, hospital.clinic.schedule, 1)
    current = client.get(f"/Slot/{slot}").json()
    client.put(f"/Slot/{slot}", json={**current, "status": "busy-unavailable"})
    deliver()
    [first, second] = [
        e for r in receiver.of_kind("event-notification") for e in r.bundle["entry"][1:]
    ]
    assert (first["resource"]["status"], first["resource"]["meta"]["versionId"]) == ("free", "1")
    assert (second["resource"]["status"], second["resource"]["meta"]["versionId"]) == (
        "busy-unavailable",
        "2",
    )


def test_an_endpoint_down_past_the_retry_window_sets_the_subscription_to_error(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    subscription_id = active(hospital, receiver, deliver, "slot-availability")
    receiver.down()
    add_slots(client, hospital.clinic.schedule, 1)
    now = clock.now()
    deliver(now)
    deliver(now + timedelta(hours=25))
    assert hospital.http.get(f"/Subscription/{subscription_id}").json()["status"] == "error"
    receiver.up()
    add_slots(client, hospital.clinic.schedule, 1)  # numbered still, for $events
    deliver(now + timedelta(hours=26))
    assert receiver.event_numbers() == []
    found = hospital.http.get(f"/Subscription/{subscription_id}/$events").json()
    assert [e["eventNumber"] for e in found["entry"][0]["resource"]["notificationEvent"]] == [
        "1",
        "2",
    ]
    current = hospital.http.get(f"/Subscription/{subscription_id}").json()
    hospital.http.put(f"/Subscription/{subscription_id}", json={**current, "status": "requested"})
    deliver(now + timedelta(hours=26))  # the handshake again
    deliver(now + timedelta(hours=26))
    assert receiver.event_numbers() == [1, 2]


def test_a_quiet_subscription_gets_heartbeats(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    period = {"url": BACKPORT + "backport-heartbeat-period", "valueUnsignedInt": 60}
    subscribe(hospital, "slot-availability", receiver.url, extension=[period])
    now = clock.now()
    deliver(now)
    deliver(now + timedelta(seconds=30))
    assert receiver.of_kind("heartbeat") == []
    deliver(now + timedelta(seconds=61))
    [heartbeat] = receiver.of_kind("heartbeat")
    assert heartbeat.status["status"] == "active"
    assert heartbeat.event_numbers == []
    deliver(now + timedelta(seconds=90))
    add_slots(client, hospital.clinic.schedule, 1)  # an event resets the period
    deliver(now + timedelta(seconds=100))
    deliver(now + timedelta(seconds=150))
    assert len(receiver.of_kind("heartbeat")) == 1
    deliver(now + timedelta(seconds=161))
    assert len(receiver.of_kind("heartbeat")) == 2


def test_a_backlog_goes_out_in_one_run_a_notification_at_a_time(
    client: httpx.Client,
    hospitals: Callable[[str], Hospital],
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    hospital = hospitals("North")
    most = {"url": BACKPORT + "backport-max-count", "valueUnsignedInt": 2}
    subscribe(hospital, "slot-availability", receiver.url, extension=[most])
    deliver()
    add_slots(client, hospital.clinic.schedule, 5)
    deliver()
    notified = [r.event_numbers for r in receiver.of_kind("event-notification")]
    assert notified == [[1, 2], [3, 4], [5]]
