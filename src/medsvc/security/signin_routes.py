"""The authorization endpoint over HTTP: GET shows the sign-in page for a checked request
(or, asked with prompt=select_account by an app this browser is signed in to, goes straight
to the patient picker), POST (from that page, in that browser, not throttled) signs the
person in and sends the browser back to the app with a code."""

from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from medsvc import clock
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.kit.executors import in_thread
from medsvc.security import authorize, choose, signin, signin_csrf, signin_memory
from medsvc.security.acting import Acting, ActingFor
from medsvc.security.clients import hash_secret
from medsvc.security.routes import MAX_FORM_BYTES, has_nul, retry_after
from medsvc.security.signin_page import (
    FORGED,
    REQUEST_FIELDS,
    THROTTLED,
    UNKNOWN_APP,
    UNREADABLE,
    Refusal,
    SignInForm,
    pages_of,
)
from medsvc.security.signin_throttle import Caller, Limits, MustWait, wait_before
from medsvc.security.tables import Account, OAuthClient


def redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


def checked_request(
    request: Request, params: dict[str, str]
) -> authorize.AuthorizeRequest | Response:
    """The request, or the page or redirect that answers it when it is not acceptable."""
    database: Database = request.app.state.database
    with database.session(write=False) as connection:
        try:
            checked = authorize.parse_request(connection, params)
        except authorize.PageError as error:
            return refused(request, Refusal(UNKNOWN_APP, 400, str(error)))
    try:
        authorize.validate(checked, params, request.app.state.settings.base_url)
    except authorize.RedirectError as error:
        return redirect(checked.redirect(error=error.error, error_description=error.description))
    return checked


def refused(request: Request, refusal: Refusal) -> Response:
    return pages_of(request).refusal(request, refusal)


def throttled(request: Request, seconds: int) -> Response:
    """429 with Retry-After (RFC 6585 section 4), and the same in words for the person."""
    return refused(request, Refusal(THROTTLED, 429, retry_after=seconds))


def _form_page(
    request: Request, client: OAuthClient, params: dict[str, str], failed: bool = False
) -> Response:
    """The sign-in form, its token keyed by this browser's secret (set now if it had none)."""
    secret = signin_csrf.browser_secret(request)
    carried = {name: params[name] for name in REQUEST_FIELDS if name in params}
    token = signin_csrf.form_token(secret, carried)
    action = request.app.state.auth_urls.authorize
    form = SignInForm(action, client.name, client.client_id, carried, token, failed)
    page = pages_of(request).form(request, form)
    signin_csrf.set_secret(page, secret, request.app.state.settings.base_url)
    return page


def _show(request: Request, params: dict[str, str]) -> Response:
    checked = checked_request(request, params)
    if isinstance(checked, Response):
        return checked
    return _form_page(request, checked.client, params)


def _choose_again(request: Request, params: dict[str, str]) -> Response:
    """An app this browser signed the person in to asks them to choose again whom it acts
    for: the picker (or the code, for a person who acts for no one else), without the
    password, while that sign-in's grant is alive; else the sign-in form."""
    checked = checked_request(request, params)
    if isinstance(checked, Response):
        return checked
    secret, now = request.cookies.get(signin_csrf.COOKIE, ""), clock.now()
    if not signin_csrf.SECRET.match(secret):
        return _form_page(request, checked.client, params)
    with request.app.state.database.session(write=True) as connection:
        account = signin_memory.recall(connection, secret, checked.client.client_id, now)
        if account is None or not choose.wants_patient(checked, account):
            return _form_page(request, checked.client, params)
        return redirect(next_location(request, connection, checked, account, params))


async def authorize_page(request: Request) -> Response:
    params = dict(request.query_params)
    if has_nul(params):
        return refused(request, Refusal(UNREADABLE, 400))
    if params.get("prompt") == signin_memory.PROMPT:
        return await in_thread(request, "write", _choose_again, request, params)
    return await in_thread(request, "read", _show, request, params)


Checked = tuple[authorize.AuthorizeRequest, signin.Attempt]


def _caller(request: Request, form: dict[str, str]) -> Caller:
    # The connection's address as the HTTP server reports it: a trusted proxy's
    # X-Forwarded-For only (uvicorn's forwarded_allow_ips), never a header anyone may set.
    return Caller(form.get("username", ""), request.client.host if request.client else "")


def _check_password(request: Request, form: dict[str, str]) -> Checked | Response:
    """The checked request and the password's verdict, or the answer when the request
    itself is not acceptable or the caller must wait. Argon2 runs here, outside any write,
    and not at all for a caller that must wait."""
    checked = checked_request(request, form)
    if isinstance(checked, Response):
        return checked
    database: Database = request.app.state.database
    caller, now = _caller(request, form), clock.now()
    with database.session(write=False) as connection:
        wait = wait_before(connection, caller, now)
        if wait is not None:
            return throttled(request, wait)
        attempt = signin.check_password(connection, caller, form.get("password", ""))
    return checked, attempt


def next_location(
    request: Request,
    connection: Connection,
    checked: authorize.AuthorizeRequest,
    account: Account,
    params: dict[str, str],
) -> str:
    """Where the signed-in person's browser goes: back to the app with a code, or to the
    patient picker (choose_routes.py) when they act for others too and the app asks for a
    patient context."""
    now = clock.now()
    acting_for: ActingFor = request.app.state.acting_for
    if choose.others(connection, acting_for, checked, account, now):
        secret = signin_csrf.browser_secret(request)  # held: every sign-in form set it
        choice_id = choose.wait(connection, account, params, secret, now)
        base = request.app.state.auth_urls.authorize.removesuffix("/authorize")
        return f"{base}/choose?{urlencode({'choice': choice_id})}"
    return checked.redirect(code=issue_code(request, connection, checked, account))


def issue_code(
    request: Request,
    connection: Connection,
    checked: authorize.AuthorizeRequest,
    account: Account,
    acting: Acting | None = None,
) -> str:
    """The app's code; a citizen's app's is remembered for this browser, so that the app may
    later send them back to choose whom it acts for (signin_memory.py)."""
    now = clock.now()
    code = authorize.issue_code(connection, checked, account, now, acting)
    secret = request.cookies.get(signin_csrf.COOKIE, "")
    if choose.wants_patient(checked, account) and signin_csrf.SECRET.match(secret):
        client_id = checked.client.client_id
        signin_memory.remember(connection, secret, client_id, account, hash_secret(code), now)
    return code


def _grant(
    request: Request,
    checked: authorize.AuthorizeRequest,
    attempt: signin.Attempt,
    form: dict[str, str],
) -> str | None:
    """Where the browser goes next, or None when the sign-in failed (the failure is
    recorded)."""
    database: Database = request.app.state.database
    settings: Settings = request.app.state.settings
    now, otp = clock.now(), form.get("otp", "")
    with database.session(write=True) as connection:
        account = signin.conclude(connection, attempt, otp or None, Limits.of(settings), now)
        if account is None:
            return None
        return next_location(request, connection, checked, account, form)


async def posted_form(request: Request) -> dict[str, str] | None:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None
    return None if has_nul(form) else form


def forged(request: Request, form: dict[str, str]) -> bool:
    """True when the POST is not from our form in this browser (cross-site request forgery)."""
    base_url = request.app.state.settings.base_url
    return not (signin_csrf.same_origin(request, base_url) and signin_csrf.token_ok(request, form))


async def our_form(request: Request) -> dict[str, str] | Response:
    """The form a POST to the authorization server's pages carries, or the answer when the
    caller must wait (a flood from one address is refused before any work), it cannot be
    read, or it is not from our form in this browser."""
    wait = retry_after(request)
    if wait is not None:
        return throttled(request, wait)
    form = await posted_form(request)
    if form is None:
        return refused(request, Refusal(UNREADABLE, 400))
    if forged(request, form):
        return refused(request, Refusal(FORGED, 403))
    return form


async def authorize_submit(request: Request) -> Response:
    form = await our_form(request)
    if isinstance(form, Response):
        return form
    checked = await in_thread(request, "read", _check_password, request, form)
    if isinstance(checked, Response):
        return checked
    auth_request, attempt = checked
    try:
        location = await in_thread(request, "write", _grant, request, auth_request, attempt, form)
    except authorize.RedirectError as error:
        location = auth_request.redirect(error=error.error, error_description=error.description)
        return redirect(location)
    except MustWait as waiting:
        return throttled(request, waiting.seconds)
    if location is None:
        return _form_page(request, auth_request.client, form, failed=True)
    return redirect(location)


ROUTES = [
    Route("/auth/authorize", authorize_page, methods=["GET"]),
    Route("/auth/authorize", authorize_submit, methods=["POST"]),
]
