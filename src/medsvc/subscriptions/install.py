"""Plugs subscriptions into the FHIR layer: the Subscription rules, the outbox's hook and
event listener, $status and $events, and what the CapabilityStatement says of them,
registered by create_app()."""

from medsvc.config import Settings
from medsvc.fhir import FhirServer
from medsvc.subscriptions import capability, channel, outbox, topics
from medsvc.subscriptions.operations import events, status


def http_hosts(settings: Settings) -> frozenset[str]:
    return frozenset(h.strip() for h in settings.subscription_http_hosts.split(",") if h.strip())


def install(server: FhirServer, settings: Settings) -> None:
    """After the access policy, whose organizations' views decide whom an event reaches."""
    registry = server.registry
    box = outbox.Outbox(registry.organization_view)
    subscription_rules = channel.SubscriptionRules(http_hosts(settings))
    registry.on_write(
        ["Subscription"], before=subscription_rules.before_write, after=outbox.keep_state
    )
    registry.on_write(topics.watched_types(), after=box.record_events)
    registry.event_listeners.append(box.on_event)
    registry.capability_amendments.append(capability.amend)
    for module in (status, events):
        registry.add_operation(module.operation(server.definitions))
