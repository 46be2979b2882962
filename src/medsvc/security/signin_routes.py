"""The authorization endpoint over HTTP: GET shows the sign-in page for a checked request,
POST signs the person in and sends the browser back to the app with a code."""

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from medsvc import clock
from medsvc.db import Database
from medsvc.executors import in_thread
from medsvc.security import authorize, signin
from medsvc.security.routes import MAX_FORM_BYTES, has_nul, retry_after
from medsvc.security.signin_page import REQUEST_FIELDS, error_page, sign_in_page


def _redirect(location: str) -> Response:
    return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})


def _checked(request: Request, params: dict[str, str]) -> authorize.AuthorizeRequest | Response:
    """The request, or the page or redirect that answers it when it is not acceptable."""
    database: Database = request.app.state.database
    with database.session(write=False) as connection:
        try:
            checked = authorize.parse_request(connection, params)
        except authorize.PageError as error:
            return error_page(str(error))
    try:
        authorize.validate(checked, params, request.app.state.settings.base_url)
    except authorize.RedirectError as error:
        return _redirect(checked.redirect(error=error.error, error_description=error.description))
    return checked


def _show(request: Request, params: dict[str, str]) -> Response:
    checked = _checked(request, params)
    if isinstance(checked, Response):
        return checked
    return sign_in_page(request.app.state.auth_urls.authorize, checked.client.name, params)


async def authorize_page(request: Request) -> Response:
    params = dict(request.query_params)
    if has_nul(params):
        return error_page("The sign-in request could not be read.")
    return await in_thread(request, "read", _show, request, params)


Checked = tuple[authorize.AuthorizeRequest, signin.Attempt]


def _check_password(request: Request, form: dict[str, str]) -> Checked | Response:
    """The checked request and the password's verdict, or the answer when the request
    itself is not acceptable. The Argon2 computation runs here, outside any write."""
    checked = _checked(request, form)
    if isinstance(checked, Response):
        return checked
    database: Database = request.app.state.database
    with database.session(write=False) as connection:
        attempt = signin.check_password(
            connection, form.get("username", ""), form.get("password", "")
        )
    return checked, attempt


def _grant(
    request: Request, checked: authorize.AuthorizeRequest, attempt: signin.Attempt, otp: str
) -> str | None:
    """The code, or None when the sign-in failed (the failure is recorded)."""
    database: Database = request.app.state.database
    now = clock.now()
    with database.session(write=True) as connection:
        account = signin.conclude(connection, attempt, otp or None, now)
        if account is None:
            return None
        return authorize.issue_code(connection, checked, account, now)


async def _posted_form(request: Request) -> dict[str, str] | None:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return None
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return None
    return None if has_nul(form) else form


async def authorize_submit(request: Request) -> Response:
    wait = retry_after(request)  # one address trying many accounts is slowed down too
    if wait is not None:
        return error_page("Too many sign-in attempts; try again shortly.", 429, wait)
    form = await _posted_form(request)
    if form is None:
        return error_page("The sign-in form could not be read.")
    checked = await in_thread(request, "read", _check_password, request, form)
    if isinstance(checked, Response):
        return checked
    auth_request, attempt = checked
    try:
        code = await in_thread(
            request, "write", _grant, request, auth_request, attempt, form.get("otp", "")
        )
    except authorize.RedirectError as error:
        location = auth_request.redirect(error=error.error, error_description=error.description)
        return _redirect(location)
    if code is None:
        params = {name: form[name] for name in REQUEST_FIELDS if name in form}
        return sign_in_page(
            request.app.state.auth_urls.authorize,
            auth_request.client.name,
            params,
            signin.GENERIC_FAILURE,
        )
    return _redirect(auth_request.redirect(code=code))


ROUTES = [
    Route("/auth/authorize", authorize_page, methods=["GET"]),
    Route("/auth/authorize", authorize_submit, methods=["POST"]),
]
