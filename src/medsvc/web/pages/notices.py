"""A citizen's notices: the reminders, results-ready messages and changes by a hospital the
service sent them (the Communications in their record), newest first, each linking to what it
is about."""

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web import display
from medsvc.web.person import signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import page

LISTED = 50
TOPIC_SYSTEM = "urn:medsvc:notice-topic"
# What a notice may link to, by the type it is about: the app's page of it.
PAGES = {"Appointment": "/app/appointments/", "DiagnosticReport": "/app/results/"}


@dataclass(frozen=True)
class Notice:
    sent: str
    topic: str
    text: str
    link: str


def _topic(communication: dict[str, Any]) -> str:
    for coding in (communication.get("topic") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == TOPIC_SYSTEM:
            return str(coding.get("code", ""))
    return ""


def _link(communication: dict[str, Any]) -> str:
    for about in communication.get("about") or []:
        kind, _, about_id = str((about or {}).get("reference", "")).partition("/")
        if kind in PAGES and display.FHIR_ID.fullmatch(about_id):
            return PAGES[kind] + about_id
    return ""


def _text(communication: dict[str, Any]) -> str:
    for payload in communication.get("payload") or []:
        if isinstance((payload or {}).get("contentString"), str):
            return str(payload["contentString"])
    return ""


def notice_of(communication: dict[str, Any]) -> Notice:
    sent = communication.get("sent")
    return Notice(
        sent=sent if isinstance(sent, str) else "",
        topic=_topic(communication),
        text=_text(communication),
        link=_link(communication),
    )


async def notices(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    params = {"recipient": person.fhir_user, "_sort": "-sent", "_count": str(LISTED)}
    found = display.matches(await fhir_json(person, "Communication", params))
    return page(request, "notices.html", person=person, notices=[notice_of(c) for c in found])
