"""One-time codes sent to a mobile number: 6 digits, 5 minutes, 5 tries, spent once; asked
for within quotas per number, per address and per identity. A code proves the number only
for the purpose and the claim (the details typed with it) that it was sent for."""

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update
from sqlmodel import col

from medsvc.clock import utc
from medsvc.crypto.blind_index import BlindIndex
from medsvc.identity import quotas
from medsvc.identity.tables import PhoneCode

DIGITS = 6
LIFETIME = timedelta(minutes=5)
TRIES = 5
WINDOW = timedelta(hours=1)  # the quotas' window
KEPT = timedelta(days=1)  # spent and expired codes are deleted after this
FORGET_BATCH = 10_000  # forget_old deletes every old row at once; a bigger count runs again


@dataclass(frozen=True)
class Quota:
    # "phone:<flow>:<keyed hash>" (each flow its own count: requests for one flow block no
    # other), "address:<address>", "identity:<keyed hash>", "asker:<patient>"
    key: str
    per_hour: int


class TooManyCodes(Exception):
    def __init__(self, seconds: int):
        super().__init__(f"too many codes asked for; wait {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class Claim:
    """What a code is for: its purpose, the number and the details it was asked with."""

    purpose: str
    phone_key: str
    details: str = ""

    def hashed(self, index: BlindIndex, code_id: str, code: str) -> str:
        bound = f"{code_id}\0{self.purpose}\0{self.phone_key}\0{self.details}\0{code}"
        return index.token("phone-code", bound)


def issue(
    session: Connection,
    index: BlindIndex,
    claim: Claim,
    limits: list[Quota],
    now: datetime,
) -> tuple[str, str]:
    """A new code for the claim: (its id, the code). Raises TooManyCodes when one of the
    quotas is used up; the caller rolls back, so a refused request is not counted."""
    for quota in limits:
        wait = quotas.take(session, quota.key, quota.per_hour, WINDOW, now)
        if wait is not None:
            raise TooManyCodes(wait)
    code_id, code = secrets.token_hex(16), f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"
    session.execute(
        insert(PhoneCode).values(
            code_id=code_id,
            purpose=claim.purpose,
            phone_key=claim.phone_key,
            code_hash=claim.hashed(index, code_id, code),
            tries_left=TRIES,
            expires=now + LIFETIME,
        )
    )
    return code_id, code


def _live(session: Connection, code_id: str, now: datetime) -> PhoneCode | None:
    row = session.execute(select(PhoneCode).where(col(PhoneCode.code_id) == code_id)).first()
    if row is None or row.spent_at is not None or utc(row.expires) <= now:
        return None
    return PhoneCode.model_validate(row._mapping)


def _right(index: BlindIndex, row: PhoneCode, claim: Claim, code: str) -> bool:
    expected = claim.hashed(index, row.code_id, code.strip())
    return row.purpose == claim.purpose and hmac.compare_digest(row.code_hash, expected)


def check(
    session: Connection, index: BlindIndex, claim: Claim, code_id: str, code: str, now: datetime
) -> bool:
    """True for the right code of a live code id and the same claim, leaving it unspent
    (spend() spends it with what it proves). Every check uses one of the code's tries, right
    or wrong: a right code sent again and again costs what it sets off (a provider's check,
    a password hash) at most TRIES times. The caller commits either way."""
    row = _live(session, code_id, now)
    if row is None:
        return False
    this = col(PhoneCode.code_id) == code_id
    has_tries = col(PhoneCode.tries_left) > 0
    used = session.execute(
        update(PhoneCode).where(this, has_tries).values(tries_left=col(PhoneCode.tries_left) - 1)
    )
    return used.rowcount == 1 and _right(index, row, claim, code)


def spend(
    session: Connection, index: BlindIndex, claim: Claim, code_id: str, code: str, now: datetime
) -> bool:
    """True, once, for the right code of a live code id and the same claim: the code is spent
    in the caller's unit of work. Callers check() first (which counts the tries)."""
    row = _live(session, code_id, now)
    if row is None or not _right(index, row, claim, code):
        return False
    this = col(PhoneCode.code_id) == code_id
    unspent = col(PhoneCode.spent_at).is_(None)
    spent = session.execute(update(PhoneCode).where(this, unspent).values(spent_at=now))
    return spent.rowcount == 1


def forget_old(session: Connection, now: datetime) -> int:
    """The periodic clean-up: codes long dead, and quota windows long ended."""
    gone = session.execute(delete(PhoneCode).where(col(PhoneCode.expires) <= now - KEPT))
    return int(gone.rowcount) + quotas.forget_ended(session, WINDOW, now)
