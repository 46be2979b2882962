"""The webhook sender: each notice queued in the caller's unit of work (so it is sent only if
that commits), then posted by the send-notices job to the city's SMS or messaging gateway,
signed, at least once, retried with backoff, and given up after the retry window. A notice to
a patient the gateway cannot reach goes to those told in their place (their proxies), each in
their own language."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import Connection, insert, select, update

from medsvc.clock import utc
from medsvc.db import Database
from medsvc.kit import leases, outbound
from medsvc.notify import texts
from medsvc.notify.language import recipient_locale
from medsvc.notify.notifier import Notice, StandIns
from medsvc.notify.tables import NoticeWebhook

log = logging.getLogger("medsvc.notify")


QUEUE = NoticeWebhook.__table__  # type: ignore[attr-defined]
Q = QUEUE.c
BATCH = 50
TIMEOUT = 10.0
# A message to a bare number carries a one-time code, worth nothing after its 5 minutes:
# it is given up then, not retried for the notices' day.
PHONE_MESSAGE_WINDOW = timedelta(minutes=5)
# The contact points a gateway may use, found by the caller (the patient's telecom).
Contacts = Callable[[Connection, str], list[dict[str, str]]]
Sign = Callable[[bytes], str]


@dataclass(frozen=True)
class WebhookSender:
    """Queues the notice; the job posts it. A patient with no contact point the gateway could
    use (an elderly parent without a phone) is told through each of their stand-ins instead,
    the text in the stand-in's language and starting with the patient's name."""

    contacts: Contacts
    stand_ins: StandIns | None = None

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        if self.stand_ins is not None and not self.contacts(session, notice.patient_id):
            told = self.stand_ins(session, notice, now)
            for stand_in in told:
                locale = recipient_locale(session, stand_in.patient_id)
                message = notice.in_locale(locale)
                text = texts.text(locale, texts.FOR_SOMEONE, name=stand_in.for_name, text=message)
                self._queue(session, notice, now, stand_in.patient_id, text, notice.patient_id)
            if told:
                return
        self._queue(session, notice, now, notice.patient_id, notice.text, None)

    def _queue(
        self,
        session: Connection,
        notice: Notice,
        now: datetime,
        to: str,
        text: str,
        on_behalf_of: str | None,
    ) -> None:
        session.execute(
            insert(QUEUE).values(
                notice_id=str(uuid.uuid4()),
                patient_id=to,
                on_behalf_of=on_behalf_of,
                topic=notice.topic,
                text=text,
                about=notice.about,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )


@dataclass
class NoticePoster:
    """The send-notices job: posts queued notices to the gateway, each under a lease."""

    url: str
    contacts: Contacts
    sign: Sign
    signature_header: str
    retry_window: timedelta
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)

    def run(self, database: Database, now: datetime) -> int:
        leased = self._lease(database, now)
        if not leased:  # most runs: no client (nor its TLS context) is built
            return 0
        with httpx.Client(follow_redirects=False) as client:
            for row in leased:
                if self._too_late(row, now):
                    with database.session(write=True) as session:
                        self._record(session, row, "too late to be of use", now)
                    continue
                with database.session(write=False) as session:
                    body = orjson.dumps(self._message(session, row))
                headers = {
                    "Content-Type": "application/json",
                    self.signature_header: self.sign(body),
                }
                error = outbound.post(client, self.url, body, headers, TIMEOUT)
                with database.session(write=True) as session:
                    self._record(session, row, error, now)
        return len(leased)

    def _lease(self, database: Database, now: datetime) -> list[Any]:
        due = (
            select(Q.notice_id)
            .where(Q.sent_at.is_(None), Q.given_up_at.is_(None), Q.next_attempt_at <= now)
            .where(leases.free(QUEUE, now))
            .order_by(Q.created_at)
            .limit(BATCH)
        )
        until = now + timedelta(seconds=TIMEOUT * 3)  # outlasts a send
        with database.session(write=False) as session:  # idle runs take no writer
            candidates = list(session.execute(due).scalars().all())
        if not candidates:
            return []
        with database.session(write=True) as session:
            taken = leases.take(session, QUEUE, Q.notice_id, candidates, self.owner, now, until)
            return list(session.execute(select(QUEUE).where(Q.notice_id.in_(taken))).all())

    def _message(self, session: Connection, row: Any) -> dict[str, Any]:
        if row.to_phone is not None:
            patient, to = None, [{"system": "sms", "value": row.to_phone}]
        else:
            patient, to = f"Patient/{row.patient_id}", self.contacts(session, row.patient_id)
        on_behalf_of = f"Patient/{row.on_behalf_of}" if row.on_behalf_of else None
        return {
            "id": row.notice_id,
            "patient": patient,
            "onBehalfOf": on_behalf_of,
            "to": to,
            "topic": row.topic,
            "text": row.text,
            "about": row.about,
            "created": utc(row.created_at).isoformat(),
        }

    def _window(self, row: Any) -> timedelta:
        return PHONE_MESSAGE_WINDOW if row.to_phone is not None else self.retry_window

    def _too_late(self, row: Any, now: datetime) -> bool:
        return now - utc(row.created_at) >= self._window(row)

    def _record(self, session: Connection, row: Any, error: str | None, now: datetime) -> None:
        mine = (Q.notice_id == row.notice_id) & (Q.lease_owner == self.owner)
        done = leases.RELEASED
        erased = {"to_phone": None, "text": ""} if row.to_phone is not None else {}
        if error is None:
            session.execute(update(QUEUE).where(mine).values(**done, **erased, sent_at=now))
            return
        given_up = self._too_late(row, now)
        wait = outbound.retry_wait(row.attempts)
        changes = {**done, "attempts": row.attempts + 1, "next_attempt_at": now + wait}
        if given_up:
            changes |= {"given_up_at": now, **erased}
        session.execute(update(QUEUE).where(mine).values(**changes))
        fields = {"notice": row.notice_id, "topic": row.topic, "error": error[:200]}
        log.warning("notice not taken by the gateway", extra={"fields": fields})
