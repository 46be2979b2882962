"""Signing in with a code sent to the account's mobile number, and choosing a new password
the same way. A code is asked for whatever the number: one is sent only to the number of a
citizen's account that may sign in so, and the page says the same either way."""

from datetime import datetime

from sqlalchemy import Connection

from medsvc.identity import codes
from medsvc.identity.signup import SignUp
from medsvc.notify import texts
from medsvc.security import account_admin
from medsvc.security.accounts import find_account
from medsvc.security.tables import Account


def claim(service: SignUp, purpose: str, phone: str, details: str = "") -> codes.Claim:
    """What the code proves: the number, for one flow (and one sign-in elsewhere: details)."""
    return codes.Claim(purpose, service.keys.phone(phone), details)


def may_sign_in_so(account: Account | None) -> bool:
    """A code to the phone (or another service's word) may sign in a citizen's account that
    is not disabled and has no authenticator app (whose second factor neither replaces)."""
    return (
        account is not None
        and account.role == "patient"
        and account.disabled_at is None
        and account.totp_secret is None
    )


def account_for(session: Connection, phone: str) -> Account | None:
    """The account a code to this number signs in, if it may be signed in so."""
    account = find_account(session, phone)
    return account if may_sign_in_so(account) else None


def send_code(
    service: SignUp,
    session: Connection,
    purpose: str,
    phone: str,
    address: str,
    locale: str,
    now: datetime,
    details: str = "",
) -> str:
    """The code's id; the code goes to the number only when it is an account's. Raises
    TooManyCodes: the quotas count every request, sent or not."""
    limits = [
        codes.Quota(
            f"phone:{purpose}:{service.keys.phone(phone)}",
            service.settings.codes_per_phone_per_hour,
        ),
        codes.Quota(f"address:{address}", service.settings.codes_per_address_per_hour),
    ]
    code_id, code = codes.issue(
        session, service.keys.index, claim(service, purpose, phone, details), limits, now
    )
    if account_for(session, phone) is not None:
        minutes = str(int(codes.LIFETIME.total_seconds() // 60))
        text = texts.text(locale, texts.PHONE_CODE, code=code, minutes=minutes)
        service.phones.send(session, phone, purpose, text, now)
    return code_id


def spend_for_account(
    service: SignUp,
    session: Connection,
    purpose: str,
    phone: str,
    code_id: str,
    code: str,
    now: datetime,
    details: str = "",
) -> Account | None:
    """The account the code signs in, its code spent in the caller's unit of work; None when
    the code is wrong or spent, or the number is no such account's (any more)."""
    account = account_for(session, phone)
    if account is None:
        return None
    if not codes.spend(
        session, service.keys.index, claim(service, purpose, phone, details), code_id, code, now
    ):
        return None
    return account


def new_password(session: Connection, account: Account, password_hash: str, now: datetime) -> None:
    """The account's new password; what was signed in with the old one is signed out."""
    account_admin.set_password_hash(session, account, password_hash, now)
