"""Sign-in with a phone code, and a new password by phone code, over HTTP beside the sign-in
form: GET shows the number form for a checked authorization request, POST sends the code,
POST confirm spends it (with the new password, for that flow) and sends the browser back to
the app signed in."""

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc import clock
from medsvc.identity import accounts, codes, forms, phone_signin
from medsvc.kit.executors import in_thread
from medsvc.security import passwords, phones
from medsvc.security.accounts import InvalidAccount, check_password_length
from medsvc.security.signin_page import UNREADABLE, Refusal
from medsvc.security.signin_routes import checked_request, next_location, redirect, refused
from medsvc.security.signup_page import (
    LINK,
    NEW_PASSWORD,
    SIGN_IN,
    TOO_MANY_CODES,
    CodeForm,
    NumberForm,
)

PATHS = {SIGN_IN: "/auth/code", NEW_PASSWORD: "/auth/password", LINK: "/auth/oidc/link"}
Endpoint = Callable[[Request], Awaitable[Response]]


def number_page(
    request: Request,
    purpose: str,
    params: dict[str, str],
    problem: str | None = None,
    hidden: dict[str, str] | None = None,
) -> Response:
    """The number form of a flow, with the flow's own hidden fields (LINK: its state)."""
    secret, token = forms.token(request, params)
    kept = forms.carried(params)
    signin = f"{request.app.state.auth_urls.authorize}?{urlencode(kept)}"
    typed = params.get("phone", "")
    form = NumberForm(PATHS[purpose], purpose, signin, kept, token, typed, problem, hidden or {})
    page = forms.pages(request).number(request, form, 400 if problem else 200)
    return forms.with_secret(request, page, secret)


def _back(request: Request, purpose: str, form: dict[str, str]) -> str:
    """Where a new code is asked for: the flow's first form, or for a link (whose first step
    was the other service) the sign-in form of the same request."""
    query = urlencode(forms.carried(form))
    if purpose == LINK:
        return f"{request.app.state.auth_urls.authorize}?{query}"
    return f"{PATHS[purpose]}?{query}"


def code_page(
    request: Request, purpose: str, form: dict[str, str], phone: str, problem: str | None = None
) -> Response:
    """The code form of a flow; the hidden fields carry the number (and LINK's state)."""
    _, token = forms.token(request, form)
    minutes = int(codes.LIFETIME.total_seconds() // 60)
    page = CodeForm(
        f"{PATHS[purpose]}/confirm",
        forms.carried(form),
        token,
        {name: form[name] for name in ("phone", "link") if name in form},
        form.get("code_id", ""),
        phones.masked(phone),
        minutes,
        problem,
        purpose,
        _back(request, purpose, form),
    )
    return forms.pages(request).code(request, page, 400 if problem else 200)


def _send(request: Request, purpose: str, phone: str) -> str:
    locale = forms.pages(request).locale(request)
    with request.app.state.database.session(write=True) as session:
        return phone_signin.send_code(
            forms.service(request),
            session,
            purpose,
            phone,
            forms.address(request),
            locale,
            clock.now(),
        )


def _check(request: Request, purpose: str, phone: str, form: dict[str, str]) -> bool:
    service = forms.service(request)
    claim = phone_signin.claim(service, purpose, phone)
    with request.app.state.database.session(write=True) as session:
        return codes.check(
            session, service.keys.index, claim, form["code_id"], form["code"], clock.now()
        )


def _sign_in(
    request: Request, purpose: str, phone: str, form: dict[str, str], password_hash: str | None
) -> str | None:
    """Where the browser goes next (the app with a code, or the patient picker), the phone
    code spent (and the password changed) in its unit of work; None when the code no longer
    serves."""
    service, now = forms.service(request), clock.now()
    with request.app.state.database.session(write=True) as session:
        account = phone_signin.spend_for_account(
            service, session, purpose, phone, form["code_id"], form["code"], now
        )
        if account is None:
            return None
        checked = checked_request(request, form)
        assert not isinstance(checked, Response)  # checked moments ago, and nothing changed it
        if password_hash is not None:
            phone_signin.new_password(session, account, password_hash, now)
            accounts.record_account_change(
                session,
                service.server,
                account,
                "reset-password",
                checked.client.client_id,
                forms.address(request),
            )
        return next_location(request, session, checked, account, form)


def number_form(purpose: str) -> Endpoint:
    async def show(request: Request) -> Response:
        params, refusal = await forms.first_page_refusal(request)
        return refusal or number_page(request, purpose, params)

    return show


def send_code(purpose: str) -> Endpoint:
    async def send(request: Request) -> Response:
        form = await forms.checked_post(request)
        if isinstance(form, Response):
            return form
        try:
            phone = phones.e164(form.get("phone", ""))
        except phones.BadPhone:
            return number_page(request, purpose, form, "phone")
        try:
            form["code_id"] = await in_thread(request, "write", _send, request, purpose, phone)
        except codes.TooManyCodes as many:
            return forms.ended(request, TOO_MANY_CODES, 429, many.seconds)
        return code_page(request, purpose, form, phone)

    return send


def _new_password_problem(purpose: str, form: dict[str, str]) -> bool:
    if purpose != NEW_PASSWORD:
        return False
    try:
        check_password_length(form.get("password", ""))
    except InvalidAccount:
        return True
    return False


def confirm(purpose: str) -> Endpoint:
    async def finish(request: Request) -> Response:
        form = await forms.checked_post(request)
        if isinstance(form, Response):
            return form
        form.setdefault("code_id", "")
        form.setdefault("code", "")
        try:
            phone = phones.e164(form.get("phone", ""))
        except phones.BadPhone:  # the hidden input changed: not our form's
            return refused(request, Refusal(UNREADABLE, 400))
        if _new_password_problem(purpose, form):
            return code_page(request, purpose, form, phone, "password")
        if not await in_thread(request, "write", _check, request, purpose, phone, form):
            return code_page(request, purpose, form, phone, "wrong-code")
        hashed = None
        if purpose == NEW_PASSWORD:
            hashed = await in_thread(request, "read", passwords.hash_password, form["password"])
        location = await in_thread(
            request, "write", _sign_in, request, purpose, phone, form, hashed
        )
        if location is None:
            return code_page(request, purpose, form, phone, "wrong-code")
        return redirect(location)

    return finish


ROUTES = [
    route
    for purpose, path in PATHS.items()
    if purpose != LINK  # oidc_routes.py's
    for route in (
        Route(path, number_form(purpose), methods=["GET"]),
        Route(path, send_code(purpose), methods=["POST"]),
        Route(f"{path}/confirm", confirm(purpose), methods=["POST"]),
    )
]
