"""Grants: what one sign-in gave one app (its code, its family of refresh tokens, and every
access token issued under it, which names the grant), revoked as a whole."""

from datetime import datetime, timedelta

from sqlalchemy import Connection, exc, insert, select, update
from sqlmodel import col

from medsvc.security.tables import AuthorizationCode, RefreshToken, RevokedGrant
from medsvc.security.tokens import CLOCK_LEEWAY, USER_LIFETIME

CLAIM = "grant_id"  # the access token's claim naming its grant
# A revoked grant is remembered until the last access token it issued would have expired.
REMEMBERED = timedelta(seconds=USER_LIFETIME + CLOCK_LEEWAY)


def revoke_grant(connection: Connection, grant_id: str, now: datetime) -> None:
    """Its refresh tokens stop working, and so do its access tokens (once each process has
    re-read the revoked grants; the one that revokes does so at once)."""
    connection.execute(
        update(RefreshToken).where(col(RefreshToken.family) == grant_id).values(revoked=True)
    )
    try:
        with connection.begin_nested():
            connection.execute(
                insert(RevokedGrant).values(grant_id=grant_id, expires=now + REMEMBERED)
            )
    except exc.IntegrityError:  # revoked before: its tokens are refused long enough still
        connection.execute(
            update(RevokedGrant)
            .where(col(RevokedGrant.grant_id) == grant_id)
            .values(expires=now + REMEMBERED)
        )


def revoke_account_grants(connection: Connection, account_id: str, now: datetime) -> int:
    """Revokes every grant the account's sign-ins gave; returns how many."""
    codes = select(col(AuthorizationCode.family)).where(
        col(AuthorizationCode.account_id) == account_id,
        col(AuthorizationCode.family).is_not(None),
    )
    refreshes = select(col(RefreshToken.family)).where(col(RefreshToken.account_id) == account_id)
    found = sorted(
        {str(row[0]) for query in (codes, refreshes) for row in connection.execute(query)}
    )
    for grant_id in found:
        revoke_grant(connection, grant_id, now)
    return len(found)


def revoke_acting_grants(connection: Connection, proxy_id: str, now: datetime) -> int:
    """Revokes every grant that acts for another person under the proxy relationship."""
    codes = select(col(AuthorizationCode.family)).where(
        col(AuthorizationCode.proxy) == proxy_id, col(AuthorizationCode.family).is_not(None)
    )
    refreshes = select(col(RefreshToken.family)).where(col(RefreshToken.proxy) == proxy_id)
    found = sorted(
        {str(row[0]) for query in (codes, refreshes) for row in connection.execute(query)}
    )
    for grant_id in found:
        revoke_grant(connection, grant_id, now)
    return len(found)
