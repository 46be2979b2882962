"""The notifier the domains are given, by create_app() and the worker."""

from medsvc.config import Settings
from medsvc.fhir import FhirServer
from medsvc.notify.communications import CommunicationSender, contacts
from medsvc.notify.notifier import LogSender, Notifier, Sender, StandIns
from medsvc.notify.webhook import WebhookSender


def notifier(server: FhirServer, settings: Settings, stand_ins: StandIns | None = None) -> Notifier:
    """How citizens are told things: a Communication in their record, a log line, and the
    gateway's webhook where one is configured (to the stand-ins of a patient it cannot
    reach)."""
    senders: list[Sender] = [CommunicationSender(server), LogSender()]
    if settings.notify_webhook_url:
        senders.append(WebhookSender(contacts, stand_ins))
    return Notifier(senders)
