"""The sender that records each notice as an R4B Communication to its patient: created like any
other write (validated, indexed, in the patient's compartment), so the citizen's app finds it;
and where a gateway reaches the citizen (their Patient's telecom)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from medsvc.fhir import FhirServer, jsonio, read_current
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.interactions import create
from medsvc.notify.notifier import Notice
from medsvc.security.context import platform_context

CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/communication-category"
# Notice topics as codes, so an app can tell kinds of message apart without reading the text.
TOPIC_SYSTEM = "urn:medsvc:notice-topic"
# Topics filed under the code system's "reminder"; every other notice is a "notification".
REMINDER_TOPICS = frozenset({"appointment-reminder"})
NOTIFIER = platform_context("notifier")


def communication(notice: Notice, now: datetime) -> dict[str, Any]:
    """The Communication that records a notice sent at now."""
    patient = {"reference": f"Patient/{notice.patient_id}"}
    category = "reminder" if notice.topic in REMINDER_TOPICS else "notification"
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "status": "completed",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
        "subject": patient,
        "topic": {"coding": [{"system": TOPIC_SYSTEM, "code": notice.topic}]},
        "sent": format_instant(now),
        "recipient": [patient],
        "payload": [{"contentString": notice.text}],
    }
    if notice.about is not None:
        resource["about"] = [{"reference": notice.about}]
    if notice.language is not None:
        resource["language"] = notice.language  # so an app can tell what it is reading
    return resource


class CommunicationSender:
    def __init__(self, server: FhirServer):
        self.server = server

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        create(self.server, session, NOTIFIER, "Communication", communication(notice, now))


REACHABLE = ("sms", "phone", "email")


def contacts(session: Connection, patient_id: str) -> list[dict[str, str]]:
    """The Patient's phone numbers and e-mail addresses in service, for a gateway to use."""
    current = read_current(session, None, "Patient", patient_id)  # never sealed
    if current is None or current.content is None:
        return []
    found = []
    for point in jsonio.loads_stored(current.content).get("telecom") or []:
        if (
            point.get("system") in REACHABLE
            and point.get("value")
            and "end" not in (point.get("period") or {})
        ):
            found.append({"system": point["system"], "value": point["value"]})
    return found
