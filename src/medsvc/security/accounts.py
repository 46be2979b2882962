"""People who sign in: citizens linked to a Patient, practitioners linked to a Practitioner,
and administrators; their creation and lookup."""

import unicodedata
import uuid
from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlmodel import col

from medsvc.security import phones
from medsvc.security.passwords import hash_password
from medsvc.security.tables import Account

ROLES = {"patient": "Patient", "practitioner": "Practitioner", "admin": None}
MIN_PASSWORD_LENGTH = 12  # NIST SP 800-63B allows 8; citizens' health records warrant more
MAX_PASSWORD_LENGTH = 256


class InvalidAccount(ValueError):
    """An account the server refuses to create; the message says why."""


def normalise_username(username: str) -> str:
    """Usernames compare case-insensitively and in one Unicode form; a mobile number (a
    citizen's username) in any spelling is its E.164 form, so that 138 0013 8000 signs in
    to +8613800138000, and counts against its throttle, as that number."""
    try:
        return phones.e164(username)
    except phones.BadPhone:
        return unicodedata.normalize("NFKC", username).strip().casefold()


def check_password_length(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidAccount(
            f"the password must have {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def _check(role: str, username: str, password: str, fhir_user: str | None) -> None:
    if role not in ROLES:
        raise InvalidAccount(f"role must be one of {', '.join(ROLES)}")
    if not username or len(username) > 128:
        raise InvalidAccount("the username must have 1 to 128 characters")
    check_password_length(password)
    linked_type = ROLES[role]
    if linked_type is None and fhir_user is not None:
        raise InvalidAccount("an administrator is linked to no FHIR resource")
    if linked_type is not None and (fhir_user or "").split("/")[0] != linked_type:
        raise InvalidAccount(f"a {role} account is linked to one {linked_type}/ID")


def add_account(
    connection: Connection,
    now: datetime,
    *,
    role: str,
    username: str,
    password: str,
    fhir_user: str | None = None,
    totp_secret: str | None = None,
) -> str:
    """Creates the account and returns its id; the caller checks that fhir_user exists."""
    _check(role, normalise_username(username), password, fhir_user)
    return insert_account(
        connection,
        now,
        role=role,
        username=username,
        password_hash=hash_password(password),
        fhir_user=fhir_user,
        totp_secret=totp_secret,
    )


def insert_account(
    connection: Connection,
    now: datetime,
    *,
    role: str,
    username: str,
    password_hash: str,
    fhir_user: str | None = None,
    totp_secret: str | None = None,
) -> str:
    """add_account with the password already checked and hashed (Argon2 takes tens of
    milliseconds: a caller holding the writer hashes before it takes it)."""
    username = normalise_username(username)
    if find_account(connection, username) is not None:
        raise InvalidAccount("that username is taken")
    account_id = str(uuid.uuid4())
    connection.execute(
        insert(Account).values(
            id=account_id,
            username=username,
            role=role,
            created=now,
            password_hash=password_hash,
            fhir_user=fhir_user,
            totp_secret=totp_secret,
        )
    )
    return account_id


def find_account(connection: Connection, username: str) -> Account | None:
    row = connection.execute(
        select(Account).where(col(Account.username) == normalise_username(username))
    ).first()
    return Account.model_validate(row._mapping) if row else None


def account_by_id(connection: Connection, account_id: str) -> Account | None:
    row = connection.execute(select(Account).where(col(Account.id) == account_id)).first()
    return Account.model_validate(row._mapping) if row else None
