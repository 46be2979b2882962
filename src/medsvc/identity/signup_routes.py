"""Sign-up over HTTP, beside the sign-in form of the authorization endpoint: GET shows the
details form for a checked authorization request; POST sends a code to the number; POST
confirm spends the code, makes the account and sends the browser back to the app signed in."""

import logging
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import exc
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc import clock
from medsvc.db import violated_constraint
from medsvc.identity import accounts, codes, forms, verification
from medsvc.identity.patients import Applicant
from medsvc.identity.signup import applicant_from
from medsvc.kit.executors import in_thread
from medsvc.security import passwords, phones
from medsvc.security.accounts import InvalidAccount, check_password_length, find_account
from medsvc.security.signin_routes import checked_request, next_location, redirect
from medsvc.security.signup_page import (
    DETAILS,
    SIGN_UP,
    TOO_MANY_CODES,
    UNVERIFIABLE,
    CodeForm,
    DetailsForm,
)

log = logging.getLogger("medsvc.identity")

PATH = "/auth/signup"
CONFIRM = "/auth/signup/confirm"


def _details_page(
    request: Request, params: dict[str, str], problems: dict[str, str], status: int = 200
) -> Response:
    secret, token = forms.token(request, params)
    kept = forms.carried(params)
    signin = f"{request.app.state.auth_urls.authorize}?{urlencode(kept)}"
    values = {name: params.get(name, "") for name in DETAILS}
    form = DetailsForm(PATH, signin, kept, token, values, problems)
    return forms.with_secret(request, forms.pages(request).details(request, form, status), secret)


def _code_page(
    request: Request,
    form: dict[str, str],
    applicant: Applicant,
    code_id: str,
    problem: str | None,
    status: int = 400,
) -> Response:
    _, token = forms.token(request, form)
    details = {name: form.get(name, "") for name in DETAILS}
    minutes = int(codes.LIFETIME.total_seconds() // 60)
    masked = phones.masked(applicant.phone)
    kept = forms.carried(form)
    back = f"{PATH}?{urlencode(kept)}"
    page = CodeForm(CONFIRM, kept, token, details, code_id, masked, minutes, problem, SIGN_UP, back)
    return forms.pages(request).code(request, page, status if problem else 200)


async def sign_up_page(request: Request) -> Response:
    params, refusal = await forms.first_page_refusal(request)
    return refusal or _details_page(request, params, {})


async def _checked_post(request: Request) -> tuple[dict[str, str], Applicant] | Response:
    """The form and the applicant it describes, or the answer when the POST is not ours or
    names no acceptable request (forms.checked_post), or the details form with problems."""
    form = await forms.checked_post(request)
    if isinstance(form, Response):
        return form
    locale = forms.pages(request).locale(request)
    today = clock.now().astimezone(ZoneInfo(request.app.state.settings.timezone)).date()
    applicant = applicant_from(form, locale, today)
    if isinstance(applicant, dict):
        return _details_page(request, form, applicant, 400)
    return form, applicant


def _send(request: Request, applicant: Applicant) -> str:
    locale = forms.pages(request).locale(request)
    with request.app.state.database.session(write=True) as session:
        return forms.service(request).send_code(
            session, applicant, forms.address(request), locale, clock.now()
        )


async def send_code(request: Request) -> Response:
    posted = await _checked_post(request)
    if isinstance(posted, Response):
        return posted
    form, applicant = posted
    try:
        code_id = await in_thread(request, "write", _send, request, applicant)
    except codes.TooManyCodes as many:
        return forms.ended(request, TOO_MANY_CODES, 429, many.seconds)
    return _code_page(request, form, applicant, code_id, None)


def _check(request: Request, applicant: Applicant, form: dict[str, str]) -> bool:
    """The code is right (not spent yet: it is spent with the account); a wrong one is
    counted, committed whatever follows."""
    service = forms.service(request)
    with request.app.state.database.session(write=True) as session:
        claim, code_id, code = service.claim(applicant), form["code_id"], form["code"]
        return codes.check(session, service.keys.index, claim, code_id, code, clock.now())


def _create(
    request: Request,
    applicant: Applicant,
    password_hash: str,
    verdict: verification.Verdict,
    form: dict[str, str],
) -> str | None:
    """Where the new account's first sign-in goes (the app with a code), decided with the
    account in the unit of work that spends the phone code; None when the code was spent
    meanwhile."""
    service, now = forms.service(request), clock.now()
    with request.app.state.database.session(write=True) as session:
        claim, code_id, code = service.claim(applicant), form["code_id"], form["code"]
        if not codes.spend(session, service.keys.index, claim, code_id, code, now):
            return None
        checked = checked_request(request, form)
        assert not isinstance(checked, Response)  # checked moments ago, and nothing changed it
        system = service.settings.resident_id_system
        made = accounts.create(
            session, service.server, service.keys, applicant, password_hash, verdict, system, now
        )
        client_id, address = checked.client.client_id, forms.address(request)
        accounts.record_sign_up(session, service.server, made, client_id, address)
        account = find_account(session, applicant.phone)
        assert account is not None  # made in this transaction
        return next_location(request, session, checked, account, form)


def _verdict(request: Request, applicant: Applicant) -> verification.Verdict | None:
    """The provider's verdict, or None when it could not give one (its service is down)."""
    try:
        return forms.service(request).provider.verify(applicant.name, applicant.document)
    except Exception:  # a provider is the city's code: whatever it raises, no account now
        log.warning("identity provider failed", exc_info=True)
        return None


def _taken(error: exc.IntegrityError) -> str:
    """What another sign-up that won the race had taken: the number or the identity."""
    taken_number = {"uq_account_identity_phone_key", "uq_account_username"}
    return (
        accounts.PHONE_TAKEN
        if violated_constraint(error) in taken_number
        else accounts.IDENTITY_TAKEN
    )


async def confirm(request: Request) -> Response:
    posted = await _checked_post(request)
    if isinstance(posted, Response):
        return posted
    form, applicant = posted
    form.setdefault("code_id", "")
    form.setdefault("code", "")
    try:
        check_password_length(form.get("password", ""))
    except InvalidAccount:
        return _code_page(request, form, applicant, form["code_id"], "password")
    if not await in_thread(request, "write", _check, request, applicant, form):
        return _code_page(request, form, applicant, form["code_id"], "wrong-code")
    # The provider may ask a remote service, and Argon2 takes tens of milliseconds: both
    # happen before the writer is taken, and the code stays live if either fails.
    verdict = await in_thread(request, "read", _verdict, request, applicant)
    if verdict is None:  # the code stays live: the same form, sent again, tries again
        return _code_page(request, form, applicant, form["code_id"], UNVERIFIABLE, 503)
    hashed = await in_thread(request, "read", passwords.hash_password, form["password"])
    try:
        location = await in_thread(
            request, "write", _create, request, applicant, hashed, verdict, form
        )
    except accounts.SignUpRefused as refusal:
        return forms.ended(request, refusal.reason, 409)
    except exc.IntegrityError as error:  # another sign-up of the identity or number won
        return forms.ended(request, _taken(error), 409)
    if location is None:
        return _code_page(request, form, applicant, form["code_id"], "wrong-code")
    return redirect(location)


ROUTES = [
    Route(PATH, sign_up_page, methods=["GET"]),
    Route(PATH, send_code, methods=["POST"]),
    Route(CONFIRM, confirm, methods=["POST"]),
]
