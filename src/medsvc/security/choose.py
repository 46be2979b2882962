"""SMART App Launch's patient picker, for a person who acts for others too: once signed in,
the authorization request waits (bound to the browser) while the person chooses whom the app
acts for; the code then names that patient and the proxy relationship that allows it."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select
from sqlmodel import col

from medsvc.clock import utc
from medsvc.security import authorize, scopes
from medsvc.security.acting import ActingFor, Choice
from medsvc.security.signin_page import REQUEST_FIELDS
from medsvc.security.tables import Account, PatientChoice

LIFETIME = timedelta(minutes=10)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Waiting:
    account_id: str
    params: dict[str, str]  # the app's authorization request


def wants_patient(request: authorize.AuthorizeRequest, account: Account) -> bool:
    """The app asks for a patient context, and the person is a citizen (who may act for
    others); a practitioner's or an administrator's sign-in has no picker."""
    return account.role == "patient" and "launch/patient" in scopes.split(request.scope)


def others(
    connection: Connection,
    acting_for: ActingFor,
    request: authorize.AuthorizeRequest,
    account: Account,
    now: datetime,
) -> list[Choice]:
    """Whom else the app could act for: none when it asks for no patient context."""
    return acting_for.choices(connection, account, now) if wants_patient(request, account) else []


def wait(
    connection: Connection,
    account: Account,
    params: dict[str, str],
    browser_secret: str,
    now: datetime,
) -> str:
    """Keeps the request while the person chooses; returns the choice's id (for the page)."""
    choice_id = secrets.token_urlsafe(32)
    kept = {name: params[name] for name in REQUEST_FIELDS if name in params}
    connection.execute(
        insert(PatientChoice).values(
            id_hash=_digest(choice_id),
            account_id=account.id,
            browser_hash=_digest(browser_secret),
            params=json.dumps(kept),
            expires=now + LIFETIME,
        )
    )
    return choice_id


def waiting(
    connection: Connection, choice_id: str, browser_secret: str, now: datetime
) -> Waiting | None:
    """The request waiting for this browser's choice, if it is alive."""
    row = connection.execute(
        select(PatientChoice).where(col(PatientChoice.id_hash) == _digest(choice_id))
    ).first()
    if row is None or utc(row.expires) <= now or row.browser_hash != _digest(browser_secret):
        return None
    return Waiting(row.account_id, json.loads(row.params))


def chosen(connection: Connection, choice_id: str) -> bool:
    """Spends the choice: True for the one request that does."""
    done = connection.execute(
        delete(PatientChoice).where(col(PatientChoice.id_hash) == _digest(choice_id))
    )
    return done.rowcount == 1


def forget_old(connection: Connection, now: datetime) -> int:
    ended = col(PatientChoice.expires) <= now
    return int(connection.execute(delete(PatientChoice).where(ended)).rowcount)
