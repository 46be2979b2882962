"""Sign-ins with an OpenID Connect provider in the database: the pending request (bound to
one browser by the hash of its sign-in cookie's secret), and the link from the provider's
subject to an account, made once a phone code proved the account is the person's."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update
from sqlmodel import col

from medsvc.clock import utc
from medsvc.identity.oidc import Request
from medsvc.identity.tables import ExternalIdentity, OidcPending

LIFETIME = timedelta(minutes=10)  # to sign in at the provider, then to prove the phone


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Pending:
    state_hash: str
    nonce: str
    verifier: str
    params: dict[str, str]  # the app's authorization request
    subject: str | None


def remember(
    session: Connection,
    request: Request,
    browser_secret: str,
    params: dict[str, str],
    now: datetime,
) -> None:
    session.execute(
        insert(OidcPending).values(
            state_hash=digest(request.state),
            browser_hash=digest(browser_secret),
            nonce=request.nonce,
            verifier=request.verifier,
            params=json.dumps(params),
            expires=now + LIFETIME,
        )
    )


def recall(session: Connection, state: str, browser_secret: str, now: datetime) -> Pending | None:
    """The pending sign-in of the state, if this browser started it and it is alive."""
    row = session.execute(
        select(OidcPending).where(col(OidcPending.state_hash) == digest(state))
    ).first()
    if row is None or utc(row.expires) <= now or row.browser_hash != digest(browser_secret):
        return None
    return Pending(row.state_hash, row.nonce, row.verifier, json.loads(row.params), row.subject)


def heard(session: Connection, pending: Pending, subject: str) -> None:
    """The provider named the person: kept for the link, which must come from this browser."""
    this = col(OidcPending.state_hash) == pending.state_hash
    session.execute(update(OidcPending).where(this).values(subject=subject))


def forget(session: Connection, pending: Pending) -> None:
    session.execute(delete(OidcPending).where(col(OidcPending.state_hash) == pending.state_hash))


def linked_account(session: Connection, issuer: str, subject: str) -> str | None:
    row = session.execute(
        select(col(ExternalIdentity.account_id)).where(
            col(ExternalIdentity.issuer) == issuer, col(ExternalIdentity.subject) == subject
        )
    ).first()
    return str(row[0]) if row else None


def link(session: Connection, issuer: str, subject: str, account_id: str, now: datetime) -> None:
    session.execute(
        insert(ExternalIdentity).values(
            issuer=issuer, subject=subject, account_id=account_id, linked_at=now
        )
    )


def forget_old(session: Connection, now: datetime) -> int:
    return int(session.execute(delete(OidcPending).where(col(OidcPending.expires) <= now)).rowcount)


def links_of(session: Connection, account_id: str) -> list[dict[str, str]]:
    """The account's links to other services, as an operator sees them."""
    rows = session.execute(
        select(ExternalIdentity)
        .where(col(ExternalIdentity.account_id) == account_id)
        .order_by(col(ExternalIdentity.linked_at))
    )
    return [
        {"issuer": r.issuer, "subject": r.subject, "linked": utc(r.linked_at).isoformat()}
        for r in rows
    ]


def unlink(session: Connection, account_id: str, issuer: str | None) -> int:
    """Removes the account's links (to one issuer, or all); returns how many. The person signs
    in with that service again only after proving their phone again."""
    query = delete(ExternalIdentity).where(col(ExternalIdentity.account_id) == account_id)
    if issuer is not None:
        query = query.where(col(ExternalIdentity.issuer) == issuer)
    return int(session.execute(query).rowcount)
