"""The pages of the authorization endpoint: what a sign-in form and a refusal carry, and the
protocol of whoever draws them (the app, in its style and the person's language)."""

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

# Carried from the app's request through the form, so the POST is checked like the GET.
REQUEST_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)
# Why a sign-in is refused; each has a page of its own.
UNREADABLE = "unreadable"  # the request or the form could not be read
UNKNOWN_APP = "unknown-app"  # an unregistered app, or a redirect URI it did not register
FORGED = "forged"  # a POST not from this server's form in this browser
THROTTLED = "throttled"  # too many failures from the caller's network


@dataclass(frozen=True)
class SignInForm:
    action: str
    app_name: str
    client_id: str
    params: dict[str, str]  # the request's fields, carried in hidden inputs
    csrf_token: str
    failed: bool  # the last attempt failed (one message for every reason)


@dataclass(frozen=True)
class Refusal:
    reason: str
    status: int
    detail: str = ""  # in English, for the app's developer
    retry_after: int | None = None


@dataclass(frozen=True)
class ChooseForm:
    """SMART's patient picker: whom the app acts for, the person themselves or another."""

    action: str
    choice_id: str
    app_name: str
    client_id: str
    others: list[tuple[str, str]]  # (proxy relationship id, the person's name)


class SignInPages(Protocol):
    def form(self, request: Request, form: SignInForm) -> Response: ...

    def choose(self, request: Request, form: ChooseForm) -> Response: ...

    def refusal(self, request: Request, refusal: Refusal) -> Response: ...


def pages_of(request: Request) -> SignInPages:
    """The pages create_app installed (the app's, web/signin_pages.py)."""
    installed: SignInPages = request.app.state.sign_in_pages
    return installed
