"""Signing a person in: password and, where enrolled, a one-time code, behind the throttle of
signin_throttle.py; one answer and one Argon2 computation whatever went wrong."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, or_, update
from sqlmodel import col

from medsvc.security import totp
from medsvc.security.accounts import find_account
from medsvc.security.passwords import verify_password
from medsvc.security.signin_throttle import (
    Caller,
    Limits,
    MustWait,
    record_failure,
    record_success,
    wait_before,
)
from medsvc.security.tables import Account

GENERIC_FAILURE = "The username, password or one-time code is wrong, or the account is disabled."


def _spend_code(connection: Connection, account: Account, otp: str | None, now: datetime) -> bool:
    """True when the account has no second factor, or the code is valid and not spent before;
    the conditional update makes a code that two sign-ins present at once serve only one."""
    if account.totp_secret is None:
        return True
    secret, last = account.totp_secret, account.totp_last_step
    step = totp.accepted_step(secret, otp or "", now.timestamp(), last)
    if step is None:
        return False
    last_step = col(Account.totp_last_step)
    fresh = or_(last_step.is_(None), last_step < step)
    spent = connection.execute(
        update(Account).where(col(Account.pk) == account.pk, fresh).values(totp_last_step=step)
    )
    return spent.rowcount == 1


@dataclass(frozen=True)
class Attempt:
    caller: Caller
    account: Account | None
    password_ok: bool


def check_password(connection: Connection, caller: Caller, password: str) -> Attempt:
    """The costly half of a sign-in, run outside any write transaction: one Argon2
    computation, whether or not the account exists."""
    account = find_account(connection, caller.username)
    hashed = account.password_hash if account else None
    return Attempt(caller, account, verify_password(hashed, password))


def conclude(
    connection: Connection, attempt: Attempt, otp: str | None, limits: Limits, now: datetime
) -> Account | None:
    """The account when the attempt succeeds, else None after counting the failure for the
    caller's address; the caller commits either way. A disabled account never signs in.

    Raises MustWait when another attempt made the caller wait since the password was checked
    (a burst of guesses at once): not counted, and not signed in even with the password.
    """
    wait = wait_before(connection, attempt.caller, now, locking=True)
    if wait is not None:
        raise MustWait(wait)
    account = attempt.account
    ok = (
        account is not None
        and account.disabled_at is None
        and attempt.password_ok
        and _spend_code(connection, account, otp, now)
    )
    if not ok:
        record_failure(connection, attempt.caller, limits, now)
        return None
    record_success(connection, attempt.caller)
    return account
