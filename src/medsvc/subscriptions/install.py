"""Plugs subscriptions into the FHIR layer: the Subscription rules, the outbox's hook and
event listener, $status and $events, and what the CapabilityStatement says of them,
registered by create_app()."""

from medsvc.config import Settings
from medsvc.fhir.server import FhirServer
from medsvc.subscriptions import capability, channel, outbox, topics
from medsvc.subscriptions.operations import events, status


def http_hosts(settings: Settings) -> frozenset[str]:
    return frozenset(h.strip() for h in settings.subscription_http_hosts.split(",") if h.strip())


def install(server: FhirServer, settings: Settings) -> None:
    registry = server.registry
    subscription_rules = channel.SubscriptionRules(http_hosts(settings))
    registry.on_write(
        ["Subscription"], before=subscription_rules.before_write, after=outbox.keep_state
    )
    registry.on_write(topics.watched_types(), after=outbox.record_events)
    registry.event_listeners.append(outbox.on_event)
    registry.capability_amendments.append(capability.amend)
    for module in (status, events):
        registry.add_operation(module.operation(server.definitions))
