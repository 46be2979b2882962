"""What an operator does to an account: disable and enable it, reset its password, lift its
sign-in waits; each change also ends what it must (the account's grants, its waits)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlmodel import col

from medsvc import clock
from medsvc.security import grants, signin_throttle
from medsvc.security.accounts import check_password_length
from medsvc.security.passwords import hash_password
from medsvc.security.tables import Account


def summary(account: Account) -> dict[str, Any]:
    """What an operator sees of an account: never its password hash or one-time code key."""
    disabled = clock.utc(account.disabled_at).isoformat() if account.disabled_at else None
    return {
        "id": account.id,
        "username": account.username,
        "role": account.role,
        "fhirUser": account.fhir_user,
        "disabled": disabled is not None,
        "disabled_at": disabled,
        "totp": account.totp_secret is not None,
        "created": clock.utc(account.created).isoformat(),
    }


def all_accounts(connection: Connection) -> list[Account]:
    rows = connection.execute(select(Account).order_by(col(Account.username)))
    return [Account.model_validate(row._mapping) for row in rows]


def _change(connection: Connection, account: Account, **values: Any) -> None:
    connection.execute(update(Account).where(col(Account.pk) == account.pk).values(**values))


def disable(connection: Connection, account: Account, now: datetime) -> int:
    """The account can no longer sign in, and every grant it had is revoked (its refresh
    tokens refused, its access tokens 401); returns how many grants."""
    if account.disabled_at is None:
        _change(connection, account, disabled_at=now)
    return grants.revoke_account_grants(connection, account.id, now)


def enable(connection: Connection, account: Account) -> None:
    """The account may sign in again; the grants revoked when it was disabled stay revoked."""
    _change(connection, account, disabled_at=None)


def reset_password(connection: Connection, account: Account, password: str, now: datetime) -> int:
    """A new password; every grant made with the old one is revoked and the waits its
    failures set are lifted. Returns how many grants."""
    check_password_length(password)
    return set_password_hash(connection, account, hash_password(password), now)


def set_password_hash(
    connection: Connection, account: Account, password_hash: str, now: datetime
) -> int:
    """reset_password with the password checked and hashed before the writer was taken."""
    _change(connection, account, password_hash=password_hash)
    signin_throttle.unlock(connection, account.username)
    return grants.revoke_account_grants(connection, account.id, now)
