"""Refresh tokens: issued in families that rotate on every use; a token presented twice
revokes its whole grant (SMART best practices, RFC 9700 section 4.14.2; grants.py)."""

import secrets
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlmodel import col

from medsvc.security.acting import Acting
from medsvc.security.clients import hash_secret
from medsvc.security.tables import RefreshToken


def issue(
    connection: Connection,
    family: str,
    client_id: str,
    account_id: str,
    scope: str,
    expires: datetime,
    acting: Acting | None = None,
) -> str:
    token = secrets.token_urlsafe(32)
    connection.execute(
        insert(RefreshToken).values(
            token_hash=hash_secret(token),
            family=family,
            client_id=client_id,
            account_id=account_id,
            scope=scope,
            expires=expires,
            patient=acting.patient_id if acting else None,
            proxy=acting.proxy_id if acting else None,
        )
    )
    return token


def find(connection: Connection, token: str) -> RefreshToken | None:
    query = select(RefreshToken).where(col(RefreshToken.token_hash) == hash_secret(token))
    row = connection.execute(query).first()
    return RefreshToken.model_validate(row._mapping) if row else None


def claim(connection: Connection, stored: RefreshToken) -> bool:
    """Marks the token used; False when another request used or revoked it first."""
    result = connection.execute(
        update(RefreshToken)
        .where(col(RefreshToken.token_hash) == stored.token_hash)
        .where(col(RefreshToken.used).is_(False), col(RefreshToken.revoked).is_(False))
        .values(used=True)
    )
    return result.rowcount == 1
