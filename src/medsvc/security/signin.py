"""Signing a person in: password and, where enrolled, a one-time code; failures counted per
account with a growing wait, and one answer and one Argon2 computation whatever went wrong."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, update
from sqlmodel import col

from medsvc import clock
from medsvc.security import totp
from medsvc.security.accounts import find_account
from medsvc.security.passwords import verify_password
from medsvc.security.tables import Account

FREE_FAILURES = 5  # then each failure doubles the wait: 1 s, 2 s, 4 s … up to MAX_WAIT
MAX_WAIT = timedelta(minutes=15)
# NIST SP 800-63B: at most 100 consecutive failed attempts on one account; then an
# administrator must unlock it.
LOCK_AFTER = 100
LOCKED_FOR_GOOD = timedelta(days=36500)
GENERIC_FAILURE = "The username, password or one-time code is wrong, or the account is locked."


def _wait_after(failures: int) -> timedelta:
    if failures >= LOCK_AFTER:
        return LOCKED_FOR_GOOD
    if failures <= FREE_FAILURES:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(failures - FREE_FAILURES - 1, 20)), MAX_WAIT)


def _record_failure(connection: Connection, account: Account, now: datetime) -> None:
    failures = account.failed_sign_ins + 1
    connection.execute(
        update(Account)
        .where(col(Account.pk) == account.pk)
        .values(
            failed_sign_ins=Account.failed_sign_ins + 1, locked_until=now + _wait_after(failures)
        )
    )


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
    account: Account | None
    password_ok: bool


def check_password(connection: Connection, username: str, password: str) -> Attempt:
    """The costly half of a sign-in, run outside any write transaction: one Argon2
    computation, whether or not the account exists."""
    account = find_account(connection, username)
    return Attempt(account, verify_password(account.password_hash if account else None, password))


def conclude(
    connection: Connection, attempt: Attempt, otp: str | None, now: datetime
) -> Account | None:
    """The account when the attempt succeeds, else None after recording the failure; the
    caller commits either way.

    A locked account is refused without counting the attempt, so a locked-out owner who
    keeps trying does not lengthen the wait.
    """
    account = attempt.account
    if account is None or (account.locked_until and clock.utc(account.locked_until) > now):
        return None
    if not (attempt.password_ok and _spend_code(connection, account, otp, now)):
        _record_failure(connection, account, now)
        return None
    if account.failed_sign_ins:
        connection.execute(
            update(Account)
            .where(col(Account.pk) == account.pk)
            .values(failed_sign_ins=0, locked_until=None)
        )
    return account
