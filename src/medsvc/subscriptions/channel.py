"""What a Subscription asks for, read from the R4B resource and the Subscriptions R5 Backport
IG's extensions, and the rules a hospital's Subscription must keep: a published topic, a
rest-hook endpoint it may be sent to, a payload we deliver, and no status it may not set."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection

from medsvc.errors import Forbidden, Outcome, Unprocessable
from medsvc.fhir import WriteEvent
from medsvc.security.context import AuthContext
from medsvc.subscriptions import topics

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
HEARTBEAT_PERIOD = BACKPORT + "backport-heartbeat-period"
TIMEOUT = BACKPORT + "backport-timeout"
MAX_COUNT = BACKPORT + "backport-max-count"
CONTENTS = ("empty", "id-only", "full-resource")
DEFAULT_TIMEOUT, MAX_TIMEOUT = 10, 60  # seconds to wait for the endpoint's answer
MAX_EVENTS = 100  # in one notification
# The statuses a client may ask for; the service sets active and error.
CLIENT_STATUSES = ("requested", "off")


@dataclass(frozen=True)
class Channel:
    topic: str
    endpoint: str
    content: str  # empty | id-only | full-resource
    headers: tuple[str, ...]
    heartbeat_seconds: int | None
    timeout_seconds: int
    max_events: int


def _extension(element: dict[str, Any] | None, url: str) -> Any:
    for extension in (element or {}).get("extension") or []:
        if extension.get("url") == url:
            return next((v for k, v in extension.items() if k.startswith("value")), None)
    return None


def channel_of(resource: dict[str, Any]) -> Channel:
    """The channel of a stored (so already checked) Subscription."""
    channel = resource.get("channel") or {}
    timeout = _extension(channel, TIMEOUT)
    return Channel(
        topic=str(resource.get("criteria") or ""),
        endpoint=str(channel.get("endpoint") or ""),
        content=_extension(channel.get("_payload"), PAYLOAD_CONTENT) or "id-only",
        headers=tuple(str(h) for h in channel.get("header") or []),
        heartbeat_seconds=_extension(channel, HEARTBEAT_PERIOD),
        timeout_seconds=min(int(timeout or DEFAULT_TIMEOUT), MAX_TIMEOUT),
        max_events=min(int(_extension(channel, MAX_COUNT) or MAX_EVENTS), MAX_EVENTS),
    )


class SubscriptionRules:
    """The before-write hook on Subscription. Plain http is accepted only to the hosts the
    operator lists (MEDSVC_SUBSCRIPTION_HTTP_HOSTS: a receiver on the same machine)."""

    def __init__(self, http_hosts: frozenset[str]):
        self.http_hosts = http_hosts

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if event.resource is None:
            return
        previous = event.previous
        if ctx.unrestricted and previous is not None and _only_status(previous, event.resource):
            return  # the service's own change of status (active, error)
        if not ctx.organization:
            raise Forbidden("A subscription is a hospital system's: create it with its client")
        resource = event.resource
        outcome = Outcome()
        self._check_topic(resource, previous, outcome)
        self._check_channel(resource.get("channel") or {}, outcome)
        self._check_status(resource, previous, outcome)
        outcome.raise_if_errors(Unprocessable)
        if previous is None:
            resource["status"] = "requested"  # active once the endpoint answers the handshake

    def _check_topic(
        self, resource: dict[str, Any], previous: dict[str, Any] | None, outcome: Outcome
    ) -> None:
        topic = resource.get("criteria")
        if topic not in topics.topics():
            known = ", ".join(sorted(topics.topics()))
            outcome.add(
                f"criteria must be a topic this service publishes: {known}",
                "value",
                "Subscription.criteria",
            )
        elif previous is not None and previous.get("criteria") != topic:
            outcome.add(
                "A subscription's topic does not change: subscribe anew",
                "business-rule",
                "Subscription.criteria",
            )

    def _check_channel(self, channel: dict[str, Any], outcome: Outcome) -> None:
        if channel.get("type") != "rest-hook":
            outcome.add(
                "channel.type must be rest-hook", "not-supported", "Subscription.channel.type"
            )
        if channel.get("payload") != "application/fhir+json":
            outcome.add(
                "channel.payload must be application/fhir+json",
                "not-supported",
                "Subscription.channel.payload",
            )
        content = _extension(channel.get("_payload"), PAYLOAD_CONTENT)
        if content is not None and content not in CONTENTS:
            outcome.add(
                f"The payload content must be one of {', '.join(CONTENTS)}",
                "value",
                "Subscription.channel.payload",
            )
        if not self._endpoint_allowed(str(channel.get("endpoint") or "")):
            outcome.add(
                "channel.endpoint must be an https URL", "value", "Subscription.channel.endpoint"
            )
        for url in (HEARTBEAT_PERIOD, TIMEOUT, MAX_COUNT):
            value = _extension(channel, url)
            if value is not None and (not isinstance(value, int) or value < 1):
                outcome.add(
                    f"{url.rsplit('/', 1)[1]} is a whole number of at least 1",
                    "value",
                    "Subscription.channel.extension",
                )
        for header in channel.get("header") or []:
            name, colon, _value = str(header).partition(":")
            if not colon or not name.strip() or "\n" in str(header) or "\r" in str(header):
                outcome.add(
                    "Each channel.header is one 'Name: value' line",
                    "value",
                    "Subscription.channel.header",
                )

    def _endpoint_allowed(self, endpoint: str) -> bool:
        parts = urlsplit(endpoint)
        if not parts.hostname or parts.username or parts.password:
            return False
        return parts.scheme == "https" or (
            parts.scheme == "http" and parts.hostname in self.http_hosts
        )

    def _check_status(
        self, resource: dict[str, Any], previous: dict[str, Any] | None, outcome: Outcome
    ) -> None:
        status = resource.get("status")
        unchanged = previous is not None and previous.get("status") == status
        if status not in CLIENT_STATUSES and not unchanged:
            outcome.add(
                "A client sets a subscription's status to requested or off; the "
                "service sets active and error",
                "business-rule",
                "Subscription.status",
            )


def _only_status(previous: dict[str, Any], current: dict[str, Any]) -> bool:
    unchanged = ("id", "meta", "status")
    return {k: v for k, v in previous.items() if k not in unchanged} == {
        k: v for k, v in current.items() if k not in unchanged
    }
