"""Signing in and out of the app: the authorization code flow with PKCE against this server's
own authorization endpoint (SMART App Launch 2.x, standalone launch); switching whom the app
acts for, the same flow asking the server to show its patient picker again; and logout. A
new sign-in ends the one it replaces, and logout, each revoking its grant."""

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from medsvc import clock
from medsvc.kit.executors import in_thread, small_read
from medsvc.security.routes import retry_after
from medsvc.web import client, cookies, forms, sessions, tokens
from medsvc.web.api import Api
from medsvc.web.person import Person, signed_in
from medsvc.web.render import page

HOME = "/app/"
SELECT_ACCOUNT = "select_account"  # OpenID Connect Core 1.0, section 3.1.2.1


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def _begin(request: Request, replaces: dict[str, str] | None) -> tuple[str, dict[str, str]]:
    web: client.AppClient = request.app.state.web
    now = clock.now()
    with request.app.state.database.session(write=True) as connection:
        client.ensure_registered(connection, web, now)
        return sessions.begin_sign_in(connection, now, replaces)


def _replaced(person: Person | None) -> dict[str, str] | None:
    """The session a new sign-in replaces: its cookie, and the token that revokes its grant."""
    if person is None:
        return None
    token = person.session.secrets.get("refresh_token") or person.token
    return {"cookie": person.session.cookie, "token": str(token)}


async def sign_in(request: Request, prompt: str | None = None) -> Response:
    wait = retry_after(request)  # each start writes a row: as bounded per address as sign-in
    if wait is not None:
        return page(request, "busy.html", 429, {"Retry-After": str(wait)}, seconds=wait)
    replaces = _replaced(await signed_in(request))
    cookie, values = await in_thread(request, "write", _begin, request, replaces)
    location = client.authorize_location(
        request.app.state.web, values["state"], values["verifier"], prompt
    )
    response = _redirect(location)
    cookies.give(request, response, cookie, int(sessions.SIGNING_IN.total_seconds()))
    return response


def _find(request: Request, cookie: str) -> sessions.Session | None:
    with request.app.state.database.session(write=False) as connection:
        return sessions.find(connection, cookie, clock.now())


async def switch(request: Request) -> Response:
    """Choose again whom the app acts for: the server's patient picker, without the password
    while this browser's sign-in is alive (OpenID Connect's prompt=select_account)."""
    return await sign_in(request, SELECT_ACCOUNT)


def _keep(
    request: Request, signing_in: sessions.Session, fhir_user: str, kept: dict[str, object]
) -> str:
    with request.app.state.database.session(write=True) as connection:
        replaced = signing_in.secrets.get("replaces_cookie")
        if replaced:
            sessions.end(connection, str(replaced))
        return sessions.signed_in(connection, signing_in, fhir_user, kept, clock.now())


def _fhir_user(request: Request, context: dict[str, object]) -> str | None:
    """Whom the app acts for, relative to this server's FHIR base: the token's patient (the
    person, or someone they act for), else the signed-in practitioner."""
    full = context.get("fhirUser")
    prefix = f"{request.app.state.web.fhir_base}/"
    if not isinstance(full, str) or not full.startswith(prefix):
        return None
    relative = full.removeprefix(prefix)
    kind, _, resource_id = relative.partition("/")
    patient = context.get("patient")
    if kind == "Patient" and isinstance(patient, str) and patient:
        return f"Patient/{patient}"
    return relative if kind in ("Patient", "Practitioner") and resource_id else None


async def callback(request: Request) -> Response:
    """The authorization server's answer: checked against this browser's sign-in (state,
    RFC 6749 10.12), then the code exchanged with the PKCE verifier."""
    cookie = cookies.read(request)
    signing_in = await small_read(request, _find, request, cookie) if cookie else None
    state = request.query_params.get("state", "")
    if signing_in is None or not forms.same(signing_in.secrets.get("state", ""), state):
        return page(request, "signin_failed.html", 400, reason="expired")
    code = request.query_params.get("code")
    if not code:
        return page(request, "signin_failed.html", 400, reason="refused")
    api, web = Api(request), request.app.state.web
    exchanged = await tokens.exchange(api, web, code, signing_in.secrets["verifier"])
    fhir_user = _fhir_user(request, exchanged[1]) if exchanged else None
    if exchanged is None or fhir_user is None:
        return page(request, "signin_failed.html", 400, reason="refused")
    replaced_token = signing_in.secrets.get("replaces_token")
    if replaced_token:  # the grant of the sign-in this one replaces
        await tokens.revoke(api, web, str(replaced_token))
    new_cookie = await in_thread(
        request, "write", _keep, request, signing_in, fhir_user, exchanged[0]
    )
    response = _redirect(HOME)
    cookies.give(request, response, new_cookie, int(sessions.SIGNED_IN.total_seconds()))
    return response


def _end(request: Request, cookie: str) -> None:
    with request.app.state.database.session(write=True) as connection:
        sessions.end(connection, cookie)


async def sign_out(request: Request) -> Response:
    person = await signed_in(request)
    if person is None:
        response = _redirect(HOME)
    elif await forms.posted(request, person.session) is None:
        return page(request, "refused.html", 403)
    else:
        refresh_token = person.session.secrets.get("refresh_token")
        await tokens.revoke(person.api, request.app.state.web, refresh_token or person.token)
        await in_thread(request, "write", _end, request, person.session.cookie)
        response = _redirect(HOME)
    cookies.take_back(request, response)
    return response


ROUTES = [
    Route("/app/signin", sign_in, methods=["GET"]),
    Route("/app/switch", switch, methods=["GET"]),
    Route("/app/callback", callback, methods=["GET"]),
    Route("/app/signout", sign_out, methods=["POST"]),
]
