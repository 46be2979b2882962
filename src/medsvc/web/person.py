"""The person a request of the app acts for: their session, and an access token that is
fresh (refreshed by one request of the session at a time, in whichever process)."""

import asyncio
from dataclasses import dataclass

from starlette.requests import Request

from medsvc import clock
from medsvc.kit.executors import in_thread, small_read
from medsvc.web import cookies, sessions, tokens
from medsvc.web.api import Api
from medsvc.web.errors import PageError
from medsvc.web.sessions import Session

WAIT_FOR_REFRESH = 5.0  # seconds a request waits for another one's refresh
POLL = 0.1


@dataclass(frozen=True)
class Person:
    session: Session
    token: str
    api: Api

    @property
    def fhir_user(self) -> str:
        """Whom the app acts for: the signed-in person, or someone they are proxy for."""
        return self.session.fhir_user or ""

    @property
    def acting_for_another(self) -> bool:
        return bool(self.session.secrets.get("acting_for_another"))

    @property
    def kind(self) -> str:
        """Patient or Practitioner."""
        return self.fhir_user.partition("/")[0]

    @property
    def id(self) -> str:
        return self.fhir_user.partition("/")[2]


def _find(request: Request, cookie: str) -> Session | None:
    with request.app.state.database.session(write=False) as connection:
        return sessions.find(connection, cookie, clock.now())


def _lease(request: Request, cookie: str) -> Session | None:
    """The session as it is once its refresh lease is taken, or None if another request
    holds the lease. Read after the lease: a refresh that finished since this request read
    the session has rotated the refresh token it read."""
    with request.app.state.database.session(write=True) as connection:
        now = clock.now()
        return (
            sessions.find(connection, cookie, now)
            if sessions.lease_refresh(connection, cookie, now)
            else None
        )


def _store(request: Request, cookie: str, kept: dict[str, object] | None) -> None:
    with request.app.state.database.session(write=True) as connection:
        if kept is None:
            sessions.end(connection, cookie)  # the grant is gone: sign in again
        else:
            sessions.store_tokens(connection, cookie, kept)


async def _refresh(request: Request, api: Api, leased: Session) -> Session | None:
    kept: dict[str, object] | None = leased.secrets  # fresh already: the lease is only freed
    if not tokens.fresh(leased.secrets):
        refresh_token = leased.secrets.get("refresh_token")
        client = request.app.state.web
        kept = await tokens.refresh(api, client, refresh_token) if refresh_token else None
    await in_thread(request, "write", _store, request, leased.cookie, kept)
    return await small_read(request, _find, request, leased.cookie)


async def _refreshed(request: Request, api: Api, session: Session) -> Session | None:
    leased = await in_thread(request, "write", _lease, request, session.cookie)
    if leased is not None:
        return await _refresh(request, api, leased)
    for _ in range(int(WAIT_FOR_REFRESH / POLL)):  # another request is refreshing
        await asyncio.sleep(POLL)
        found = await small_read(request, _find, request, session.cookie)
        if found is None or tokens.fresh(found.secrets):
            return found
    return None


async def signed_in(request: Request) -> Person | None:
    """The signed-in person, or None (no session, or one whose grant has ended)."""
    cookie = cookies.read(request)
    session = await small_read(request, _find, request, cookie) if cookie else None
    if session is None or not session.signed_in:
        return None
    api = Api(request)
    if not tokens.fresh(session.secrets):
        session = await _refreshed(request, api, session)
        if session is None or not session.signed_in:
            return None
    return Person(session, session.secrets["access_token"], api)


async def signed_in_as(request: Request, *kinds: str) -> Person:
    """The signed-in person if they are one of kinds (Patient, Practitioner); a page for
    someone else is not found, and a visitor is asked to sign in."""
    person = await signed_in(request)
    if person is None:
        raise PageError(401, "signed-out")
    if person.kind not in kinds:
        raise PageError(404, "not-found")
    return person
