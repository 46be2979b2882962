"""The authorization server's memory of a sign-in: a browser that signed a citizen in to an app
may come back with that app's authorization request and OpenID Connect's
`prompt=select_account` to choose again whom the app acts for (SMART's patient picker),
without the password, as long as the grant that sign-in gave is alive (the app's sign-out,
a password reset, a disabled account or an ended proxy revoke it) and for no other app."""

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import Connection, Exists, delete, exists, insert, select
from sqlmodel import col

from medsvc.clock import utc
from medsvc.security.accounts import account_by_id
from medsvc.security.tables import Account, AuthorizationCode, RefreshToken, SigninMemory

# As long as the app's own session (web/sessions.py SIGNED_IN): never longer than its grant.
LIFETIME = timedelta(hours=12)
PROMPT = "select_account"  # OpenID Connect Core 1.0, section 3.1.2.1


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def remember(
    connection: Connection,
    browser_secret: str,
    client_id: str,
    account: Account,
    code_hash: str,
    now: datetime,
) -> None:
    """The sign-in that gave the code, replacing this browser's earlier one with the app."""
    browser_hash = _digest(browser_secret)
    connection.execute(
        delete(SigninMemory).where(
            col(SigninMemory.browser_hash) == browser_hash,
            col(SigninMemory.client_id) == client_id,
        )
    )
    connection.execute(
        insert(SigninMemory).values(
            browser_hash=browser_hash,
            client_id=client_id,
            account_id=account.id,
            code_hash=code_hash,
            expires=now + LIFETIME,
        )
    )


def _grant_alive(code_hash: str, now: datetime) -> Exists:
    """The code was exchanged and its grant has a refresh token still usable."""
    code = AuthorizationCode.__table__.alias()  # type: ignore[attr-defined]
    refresh = RefreshToken.__table__.alias()  # type: ignore[attr-defined]
    return exists().where(
        code.c.code_hash == code_hash,
        code.c.family.is_not(None),
        refresh.c.family == code.c.family,
        refresh.c.revoked.is_(False),
        refresh.c.used.is_(False),
        refresh.c.expires > now,
    )


def recall(
    connection: Connection, browser_secret: str, client_id: str, now: datetime
) -> Account | None:
    """The person this browser signed in to the app, while that sign-in's grant is alive and
    their account enabled; None otherwise."""
    row = connection.execute(
        select(SigninMemory).where(
            col(SigninMemory.browser_hash) == _digest(browser_secret),
            col(SigninMemory.client_id) == client_id,
        )
    ).first()
    if row is None or utc(row.expires) <= now:
        return None
    if not connection.execute(select(_grant_alive(row.code_hash, now))).scalar():
        return None
    account = account_by_id(connection, row.account_id)
    return account if account is not None and account.disabled_at is None else None


def forget_old(connection: Connection, now: datetime) -> int:
    ended = col(SigninMemory.expires) <= now
    return int(connection.execute(delete(SigninMemory).where(ended)).rowcount)
