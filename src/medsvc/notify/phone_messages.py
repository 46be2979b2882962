"""Messages to a mobile number rather than to a patient: one-time codes for a person proving
the number. Queued for the gateway in the caller's unit of work (sent only if it commits);
written to the log only where the deployment asks for it, for a local trial without one."""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert

from medsvc.notify.webhook import QUEUE

log = logging.getLogger("medsvc.notify")


@dataclass(frozen=True)
class PhoneSender:
    gateway: bool  # the city's SMS gateway is configured (MEDSVC_NOTIFY_WEBHOOK_URL)
    to_log: bool  # MEDSVC_PHONE_CODES_TO_LOG: a local trial reads its codes in the log

    @property
    def available(self) -> bool:
        return self.gateway or self.to_log

    def send(self, session: Connection, number: str, topic: str, text: str, now: datetime) -> None:
        if self.gateway:
            session.execute(
                insert(QUEUE).values(
                    notice_id=str(uuid.uuid4()),
                    to_phone=number,
                    topic=topic,
                    text=text,
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                )
            )
        if self.to_log:
            fields = {"topic": topic, "to": f"…{number[-4:]}", "text": text}
            log.warning("phone message for a local trial", extra={"fields": fields})
