"""The topics a hospital may subscribe to: the SubscriptionTopic resources in fhir_profiles/,
loaded once, and whether a write (resource trigger) or a domain's event (event trigger)
is an event of a topic."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import fhirpathpy
import orjson

from medsvc.kit.paths import data_path

EVENT_SYSTEM = "urn:medsvc:event"  # the codes of the domains' own events (result-released)
_INTERACTION = {"create": "create", "update": "update", "patch": "update", "delete": "delete"}


@dataclass(frozen=True)
class Topic:
    url: str
    resource_type: str  # of the focus
    interactions: frozenset[str]  # create | update | delete; empty for an event trigger
    criteria: Callable[..., list[Any]] | None  # FHIRPath over %previous and %current
    event: str | None  # the code of an event trigger
    resource: dict[str, Any]  # the SubscriptionTopic

    def triggered_by(
        self, interaction: str, previous: dict[str, Any] | None, current: dict[str, Any] | None
    ) -> bool:
        """Whether a write is an event of this topic (SubscriptionTopic.resourceTrigger)."""
        if self.criteria is None or _INTERACTION.get(interaction) not in self.interactions:
            return False
        found = self.criteria({}, {"previous": previous or [], "current": current or []})
        return found == [True]


def _topic(resource: dict[str, Any]) -> Topic:
    resource_triggers = resource.get("resourceTrigger") or []
    if resource_triggers:
        [trigger] = resource_triggers
        return Topic(
            url=resource["url"],
            resource_type=trigger["resource"].rsplit("/", 1)[1],
            interactions=frozenset(trigger["supportedInteraction"]),
            criteria=fhirpathpy.compile(trigger["fhirPathCriteria"]),
            event=None,
            resource=resource,
        )
    [trigger] = resource["eventTrigger"]
    [coding] = [c for c in trigger["event"]["coding"] if c["system"] == EVENT_SYSTEM]
    return Topic(
        url=resource["url"],
        resource_type=trigger["resource"].rsplit("/", 1)[1],
        interactions=frozenset(),
        criteria=None,
        event=coding["code"],
        resource=resource,
    )


@lru_cache(maxsize=1)
def topics() -> dict[str, Topic]:
    """The published topics by canonical URL."""
    folder = data_path("fhir_profiles") / "SubscriptionTopic"
    loaded = [_topic(orjson.loads(path.read_bytes())) for path in sorted(folder.glob("*.json"))]
    return {topic.url: topic for topic in loaded}


def of_type(resource_type: str) -> list[Topic]:
    """The topics whose resource triggers watch writes of this type."""
    return [t for t in topics().values() if t.criteria and t.resource_type == resource_type]


def watched_types() -> frozenset[str]:
    """The types whose writes a topic's resource trigger watches."""
    return frozenset(t.resource_type for t in topics().values() if t.criteria)


def of_event(code: str) -> list[Topic]:
    return [t for t in topics().values() if t.event == code]
