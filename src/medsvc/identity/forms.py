"""What the phone-code flows at the authorization endpoint share: the checked POST (ours,
not throttled, for an acceptable authorization request, a gateway to send codes through),
the request's fields carried from form to form, and the pages' protocol."""

from starlette.requests import Request
from starlette.responses import Response

from medsvc.identity.signup import SignUp
from medsvc.kit.executors import in_thread
from medsvc.security import signin_csrf
from medsvc.security.routes import has_nul
from medsvc.security.signin_page import REQUEST_FIELDS, UNREADABLE, Refusal
from medsvc.security.signin_routes import checked_request, our_form, refused
from medsvc.security.signup_page import UNAVAILABLE, SignUpPages, sign_up_pages_of


def service(request: Request) -> SignUp:
    found: SignUp = request.app.state.sign_up
    return found


def pages(request: Request) -> SignUpPages:
    return sign_up_pages_of(request)


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def carried(params: dict[str, str]) -> dict[str, str]:
    return {name: params[name] for name in REQUEST_FIELDS if name in params}


def token(request: Request, params: dict[str, str]) -> tuple[str, str]:
    """This browser's secret (new if it has none) and the form token for the request."""
    secret = signin_csrf.browser_secret(request)
    return secret, signin_csrf.form_token(secret, carried(params))


def with_secret(request: Request, page: Response, secret: str) -> Response:
    signin_csrf.set_secret(page, secret, request.app.state.settings.base_url)
    return page


def ended(request: Request, reason: str, status: int, wait: int | None = None) -> Response:
    return pages(request).ended(request, reason, status, wait)


def _first_page(
    request: Request, params: dict[str, str], needs_phone: bool = True
) -> Response | None:
    checked = checked_request(request, params)
    if isinstance(checked, Response):
        return checked
    if needs_phone and not service(request).phones.available:
        return ended(request, UNAVAILABLE, 503)
    return None


async def first_page_refusal(
    request: Request, needs_phone: bool = True
) -> tuple[dict[str, str], Response | None]:
    """The GET's parameters, and the answer when they name no acceptable request (or, for a
    flow that sends codes, when no code can be sent)."""
    params = dict(request.query_params)
    if has_nul(params):
        return params, refused(request, Refusal(UNREADABLE, 400))
    return params, await in_thread(request, "read", _first_page, request, params, needs_phone)


async def checked_post(request: Request) -> dict[str, str] | Response:
    """The posted form, or the answer when the POST is not ours, is throttled, names no
    acceptable authorization request, or no code can be sent."""
    form = await our_form(request)
    if isinstance(form, Response):
        return form
    refusal = await in_thread(request, "read", _first_page, request, form)
    return refusal if refusal is not None else form
