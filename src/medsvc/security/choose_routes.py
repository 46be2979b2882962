"""The patient picker over HTTP: where a sign-in goes next (the app with a code, or the
picker), the picker's page, and the choice posted from it (ours, from this browser, once)."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc import clock
from medsvc.kit.executors import in_thread
from medsvc.security import choose, signin_csrf
from medsvc.security.accounts import account_by_id
from medsvc.security.acting import Acting, ActingFor
from medsvc.security.signin_page import FORGED, UNREADABLE, ChooseForm, Refusal, pages_of
from medsvc.security.signin_routes import (
    checked_request,
    issue_code,
    posted_form,
    redirect,
    refused,
)
from medsvc.security.tables import Account

PATH = "/auth/choose"
MYSELF = "myself"


def _acting_for(request: Request) -> ActingFor:
    found: ActingFor = request.app.state.acting_for
    return found


def _waiting(request: Request, choice_id: str) -> tuple[choose.Waiting, Account] | None:
    secret = request.cookies.get(signin_csrf.COOKIE, "")
    with request.app.state.database.session(write=False) as connection:
        found = choose.waiting(connection, choice_id, secret, clock.now())
        account = account_by_id(connection, found.account_id) if found else None
    return (found, account) if found and account and account.disabled_at is None else None


def _page(request: Request, choice_id: str) -> Response:
    found = _waiting(request, choice_id)
    if found is None:
        return refused(request, Refusal(FORGED, 403))
    waiting, account = found
    checked = checked_request(request, waiting.params)
    if isinstance(checked, Response):
        return checked
    with request.app.state.database.session(write=False) as connection:
        choices = _acting_for(request).choices(connection, account, clock.now())
    others = [(c.acting.proxy_id, c.name) for c in choices]
    form = ChooseForm(PATH, choice_id, checked.client.name, checked.client.client_id, others)
    return pages_of(request).choose(request, form)


async def choose_page(request: Request) -> Response:
    return await in_thread(request, "read", _page, request, request.query_params.get("choice", ""))


def _issue(request: Request, choice_id: str, picked: str) -> Response:
    found = _waiting(request, choice_id)
    if found is None:
        return refused(request, Refusal(FORGED, 403))
    waiting, account = found
    now = clock.now()
    with request.app.state.database.session(write=True) as connection:
        acting: Acting | None = None
        if picked != MYSELF:
            choices = _acting_for(request).choices(connection, account, now)
            acting = next((c.acting for c in choices if c.acting.proxy_id == picked), None)
            if acting is None:  # not among whom they may act for (any more)
                return refused(request, Refusal(UNREADABLE, 400))
        checked = checked_request(request, waiting.params)
        if isinstance(checked, Response):
            return checked
        if not choose.chosen(connection, choice_id):  # chosen already, in another request
            return refused(request, Refusal(FORGED, 403))
        code = issue_code(request, connection, checked, account, acting)
    return redirect(checked.redirect(code=code))


async def choose_submit(request: Request) -> Response:
    form = await posted_form(request)
    if form is None:
        return refused(request, Refusal(UNREADABLE, 400))
    base_url = request.app.state.settings.base_url
    if not signin_csrf.same_origin(request, base_url):
        return refused(request, Refusal(FORGED, 403))
    choice_id, picked = form.get("choice", ""), form.get("patient", "")
    return await in_thread(request, "write", _issue, request, choice_id, picked)


ROUTES = [
    Route(PATH, choose_page, methods=["GET"]),
    Route(PATH, choose_submit, methods=["POST"]),
]
