"""Sign-in with another service (an OpenID Connect provider) over HTTP: start sends the person
there with the app's authorization request remembered; the callback takes the provider's
answer and signs in the account linked to the person there, or asks for a code to the
account's mobile number first and links the two."""

import logging

from sqlalchemy import Connection, exc, select
from sqlmodel import col
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc import clock
from medsvc.identity import accounts, codes, forms, oidc, oidc_links, phone_signin
from medsvc.identity.code_routes import code_page, number_page
from medsvc.kit.executors import in_thread
from medsvc.security import phones, signin_csrf
from medsvc.security.routes import retry_after
from medsvc.security.signin_page import FORGED, UNREADABLE, Refusal
from medsvc.security.signin_routes import (
    checked_request,
    next_location,
    redirect,
    refused,
    throttled,
)
from medsvc.security.signup_page import LINK, OIDC_FAILED, TOO_MANY_CODES
from medsvc.security.tables import Account

log = logging.getLogger("medsvc.identity")
CALLBACK = "/auth/oidc/callback"


def _party(request: Request) -> oidc.RelyingParty | None:
    party: oidc.RelyingParty | None = request.app.state.oidc
    return party


def _failed(request: Request, why: str, status: int = 502) -> Response:
    log.warning("sign-in with the provider failed", extra={"fields": {"why": why[:200]}})
    return forms.ended(request, OIDC_FAILED, status)


def _begin(request: Request, party: oidc.RelyingParty, params: dict[str, str]) -> Response:
    try:
        sent = party.start()
    except oidc.SignInFailed as failure:
        return _failed(request, str(failure))
    secret = signin_csrf.browser_secret(request)
    with request.app.state.database.session(write=True) as session:
        oidc_links.remember(session, sent, secret, forms.carried(params), clock.now())
    return forms.with_secret(request, redirect(sent.url), secret)


async def start(request: Request) -> Response:
    wait = retry_after(request)  # each start writes a row: bounded per address
    if wait is not None:
        return throttled(request, wait)
    # A person linked before signs in without a code: the gateway is needed only to link.
    params, refusal = await forms.first_page_refusal(request, needs_phone=False)
    if refusal is not None:
        return refusal
    party = _party(request)
    if party is None:
        return refused(request, Refusal(UNREADABLE, 404))
    return await in_thread(request, "read", _begin, request, party, params)


def _recalled(request: Request, state: str) -> oidc_links.Pending | None:
    secret = request.cookies.get(signin_csrf.COOKIE, "")
    with request.app.state.database.session(write=False) as session:
        return oidc_links.recall(session, state, secret, clock.now())


def _account(session: Connection, account_id: str) -> Account | None:
    row = session.execute(select(Account).where(col(Account.id) == account_id)).first()
    return Account.model_validate(row._mapping) if row else None


def _sign_in_linked(
    request: Request, session: Connection, pending: oidc_links.Pending, account: Account | None
) -> Response:
    if account is None or not phone_signin.may_sign_in_so(account):
        return forms.ended(request, OIDC_FAILED, 403)
    checked = checked_request(request, pending.params)
    if isinstance(checked, Response):
        return checked
    oidc_links.forget(session, pending)
    return redirect(next_location(request, session, checked, account, pending.params))


def _answer(
    request: Request, party: oidc.RelyingParty, pending: oidc_links.Pending, subject: str
) -> Response:
    """Signs in the linked account, or asks for the phone code that links one."""
    with request.app.state.database.session(write=True) as session:
        account_id = oidc_links.linked_account(session, party.issuer, subject)
        if account_id is not None:
            return _sign_in_linked(request, session, pending, _account(session, account_id))
        oidc_links.heard(session, pending, subject)
    state = request.query_params["state"]
    return number_page(request, LINK, pending.params, hidden={"link": state})


def _returned(
    request: Request, party: oidc.RelyingParty, pending: oidc_links.Pending, code: str
) -> Response:
    state = request.query_params["state"]
    sent = oidc.Request("", state, pending.nonce, pending.verifier)
    try:
        subject = party.subject(code, sent)
    except oidc.SignInFailed as failure:
        return _failed(request, str(failure))
    return _answer(request, party, pending, subject)


async def callback(request: Request) -> Response:
    """The provider's answer (OIDC Core 3.1.2.5): checked against this browser's request
    (state, RFC 6749 10.12), then the code exchanged and the id_token checked."""
    wait = retry_after(request)  # each answer costs a call to the provider
    if wait is not None:
        return throttled(request, wait)
    party = _party(request)
    state, code = request.query_params.get("state", ""), request.query_params.get("code", "")
    if party is None or not state:
        return refused(request, Refusal(UNREADABLE, 400))
    pending = await in_thread(request, "read", _recalled, request, state)
    if pending is None:
        return refused(request, Refusal(FORGED, 403))
    if not code:  # the person said no, or the provider could not sign them in
        return _failed(request, request.query_params.get("error", "no code")[:100], 400)
    return await in_thread(request, "read", _returned, request, party, pending, code)


async def _linking(request: Request) -> tuple[dict[str, str], oidc_links.Pending, str] | Response:
    """The posted form, the pending sign-in it continues (heard from the provider, this
    browser's) and the number typed; or the answer when any of them is not right."""
    form = await forms.checked_post(request)
    if isinstance(form, Response):
        return form
    pending = await in_thread(request, "read", _recalled, request, form.get("link", ""))
    if pending is None or pending.subject is None:
        return refused(request, Refusal(FORGED, 403))
    try:
        phone = phones.e164(form.get("phone", ""))
    except phones.BadPhone:
        return number_page(request, LINK, form, "phone", {"link": form.get("link", "")})
    return form, pending, phone


def _send(request: Request, phone: str, pending: oidc_links.Pending) -> str:
    locale = forms.pages(request).locale(request)
    with request.app.state.database.session(write=True) as session:
        return phone_signin.send_code(
            forms.service(request),
            session,
            LINK,
            phone,
            forms.address(request),
            locale,
            clock.now(),
            pending.state_hash,
        )


async def send_link_code(request: Request) -> Response:
    linking = await _linking(request)
    if isinstance(linking, Response):
        return linking
    form, pending, phone = linking
    try:
        form["code_id"] = await in_thread(request, "write", _send, request, phone, pending)
    except codes.TooManyCodes as many:
        return forms.ended(request, TOO_MANY_CODES, 429, many.seconds)
    return code_page(request, LINK, form, phone)


def _check(request: Request, phone: str, pending: oidc_links.Pending, form: dict[str, str]) -> bool:
    service = forms.service(request)
    claim = phone_signin.claim(service, LINK, phone, pending.state_hash)
    with request.app.state.database.session(write=True) as session:
        return codes.check(
            session, service.keys.index, claim, form["code_id"], form["code"], clock.now()
        )


def _link(
    request: Request, phone: str, pending: oidc_links.Pending, form: dict[str, str]
) -> str | None:
    """Where the browser goes next, the link made and the phone code spent in its unit of
    work; None when the code no longer serves."""
    service, party, now = forms.service(request), _party(request), clock.now()
    assert party is not None
    assert pending.subject is not None
    with request.app.state.database.session(write=True) as session:
        account = phone_signin.spend_for_account(
            service, session, LINK, phone, form["code_id"], form["code"], now, pending.state_hash
        )
        if account is None:
            return None
        checked = checked_request(request, form)
        assert not isinstance(checked, Response)  # checked moments ago, and nothing changed it
        oidc_links.link(session, party.issuer, pending.subject, account.id, now)
        oidc_links.forget(session, pending)
        accounts.record_account_change(
            session,
            service.server,
            account,
            "link-external-account",
            checked.client.client_id,
            forms.address(request),
        )
        return next_location(request, session, checked, account, form)


async def confirm_link(request: Request) -> Response:
    linking = await _linking(request)
    if isinstance(linking, Response):
        return linking
    form, pending, phone = linking
    form.setdefault("code_id", "")
    form.setdefault("code", "")
    if not await in_thread(request, "write", _check, request, phone, pending, form):
        return code_page(request, LINK, form, phone, "wrong-code")
    try:
        location = await in_thread(request, "write", _link, request, phone, pending, form)
    except exc.IntegrityError:  # the same provider account linked at the same moment
        return forms.ended(request, OIDC_FAILED, 409)
    if location is None:
        return code_page(request, LINK, form, phone, "wrong-code")
    return redirect(location)


ROUTES = [
    Route("/auth/oidc/start", start, methods=["GET"]),
    Route(CALLBACK, callback, methods=["GET"]),
    Route("/auth/oidc/link", send_link_code, methods=["POST"]),
    Route("/auth/oidc/link/confirm", confirm_link, methods=["POST"]),
]
