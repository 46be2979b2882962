"""What the CapabilityStatement says of subscriptions: the topics, served beside the store (read,
and search by url), and on Subscription the topics one may subscribe to, with the Subscriptions
R5 Backport IG's extension (StructureDefinition-capabilitystatement-subscriptiontopic-canonical)."""

from typing import Any

from medsvc.subscriptions import topics

TOPIC_CANONICAL = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "capabilitystatement-subscriptiontopic-canonical"
)
TOPIC_ENTRY = {
    "type": "SubscriptionTopic",
    "interaction": [{"code": "read"}, {"code": "search-type"}],
    "searchParam": [
        {
            "name": "url",
            "definition": "http://hl7.org/fhir/SearchParameter/SubscriptionTopic-url",
            "type": "uri",
        }
    ],
}


def amend(rest: dict[str, Any]) -> None:
    urls = sorted(topic.url for topic in topics.topics().values())
    for entry in rest["resource"]:
        if entry["type"] == "Subscription":
            entry["extension"] = [{"url": TOPIC_CANONICAL, "valueCanonical": url} for url in urls]
    rest["resource"].append(dict(TOPIC_ENTRY))
