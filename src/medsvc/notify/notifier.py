"""The notifier interface citizens' messages go through, and its senders.

Senders run inside the caller's unit of work: a notice and the record that it was sent commit
together, or neither does.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

log = logging.getLogger("medsvc.notify")


@dataclass(frozen=True)
class Notice:
    """A message to one citizen. topic names its kind ("appointment-reminder"); about is a
    reference such as "Appointment/123", never clinical content; language is the text's
    (BCP 47, "zh-CN" or "en": see language.py); written gives the text in another locale,
    for someone told in the citizen's place who reads another language."""

    patient_id: str
    topic: str
    text: str
    about: str | None = None
    language: str | None = None
    written: Callable[[str], str] | None = None

    def in_locale(self, locale: str) -> str:
        return self.written(locale) if self.written is not None else self.text


@dataclass(frozen=True)
class StandIn:
    """Someone told in a patient's place (a proxy, when the patient has no phone): their own
    Patient, and the name of the patient the notice is for, which their message starts with."""

    patient_id: str
    for_name: str


# Who is told in a patient's place, when the patient cannot be reached.
StandIns = Callable[[Connection, Notice, datetime], list[StandIn]]


class Sender(Protocol):
    def send(self, session: Connection, notice: Notice, now: datetime) -> None: ...


class LogSender:
    """One log line per notice: its topic and what it is about, never whom it is for or its
    text (a log is no place for a citizen's identity or messages)."""

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        fields = {"topic": notice.topic, "about": notice.about or "-"}
        log.info("notice", extra={"fields": fields})


class Notifier:
    """Sends each notice through every sender, in order; a sender that raises fails the send
    (and with it the caller's unit of work, so nothing is recorded as sent)."""

    def __init__(self, senders: Iterable[Sender]):
        self.senders = tuple(senders)

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        for sender in self.senders:
            sender.send(session, notice, now)
