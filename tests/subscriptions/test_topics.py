"""The topics are published as R4B SubscriptionTopic resources, readable before sign-in, and
each is what the outbox applies."""

import httpx
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.subscriptiontopic import SubscriptionTopic

from medsvc.subscriptions import topics
from tests.conftest import LiveServer
from tests.subscriptions.conftest import TOPIC

PUBLISHED = (
    "appointment-booked",
    "appointment-cancelled",
    "appointment-rescheduled",
    "slot-availability",
    "result-released",
)


def test_topics_are_published_without_sign_in(smart_server: LiveServer) -> None:
    base = f"{smart_server.url}/fhir/SubscriptionTopic"
    found = httpx.get(base)
    assert found.headers["content-type"].startswith("application/fhir+json")
    resources = [e["resource"] for e in found.json()["entry"]]
    assert {r["url"] for r in resources} == {TOPIC + name for name in PUBLISHED}
    for resource in resources:
        SubscriptionTopic.model_validate(resource)
        assert resource == topics.topics()[resource["url"]].resource
    one = httpx.get(f"{base}/appointment-booked").json()
    assert one["url"] == TOPIC + "appointment-booked"
    assert httpx.get(base, params={"url": TOPIC + "result-released"}).json()["total"] == 1
    missing = httpx.get(f"{base}/everything")
    assert (missing.status_code, missing.json()["issue"][0]["code"]) == (404, "not-found")
    assert httpx.get(f"{smart_server.url}/fhir/Subscription").status_code == 401


def test_the_capability_statement_lists_the_topics(smart_server: LiveServer) -> None:
    statement = httpx.get(f"{smart_server.url}/fhir/metadata").json()
    CapabilityStatement.model_validate(statement)
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    topic = resources["SubscriptionTopic"]
    assert {i["code"] for i in topic["interaction"]} == {"read", "search-type"}
    assert [p["name"] for p in topic["searchParam"]] == ["url"]
    advertised = [
        e["valueCanonical"]
        for e in resources["Subscription"]["extension"]
        if e["url"].endswith("/capabilitystatement-subscriptiontopic-canonical")
    ]
    assert sorted(advertised) == sorted(TOPIC + name for name in PUBLISHED)


def test_each_resource_trigger_is_what_the_outbox_applies() -> None:
    booked = topics.topics()[TOPIC + "appointment-booked"]
    pending = {"resourceType": "Appointment", "status": "pending"}
    confirmed = {**pending, "status": "booked"}
    assert booked.triggered_by("update", pending, confirmed)
    assert booked.triggered_by("create", None, confirmed)
    assert not booked.triggered_by("update", confirmed, confirmed)
    assert not booked.triggered_by("delete", confirmed, None)
    slot = topics.topics()[TOPIC + "slot-availability"]
    free = {"resourceType": "Slot", "status": "free"}
    assert slot.triggered_by("delete", free, None)
    assert not slot.triggered_by("update", free, {**free, "comment": "room 2"})
