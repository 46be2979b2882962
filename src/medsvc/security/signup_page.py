"""The pages of the phone-code flows at the authorization endpoint (sign-up, sign-in with a
code, a new password): what their forms and refusals carry, and the protocol of whoever
draws them (the app, in its style and the person's language). The protocol's problems and
reasons are codes; the pages put them into words."""

from dataclasses import dataclass, field
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response

# What the person types on the first form, carried in hidden inputs on the second.
DETAILS = ("name", "kind", "number", "country", "phone")
# What a code is for: the flow it belongs to.
SIGN_UP = "sign-up"
SIGN_IN = "sign-in"
LINK = "link"  # proving the account before another service's sign-in is linked to it
NEW_PASSWORD = "new-password"  # noqa: S105 (a flow's name, not a password)
# Why sign-up ends without an account; each has its own words.
UNAVAILABLE = "unavailable"  # no SMS gateway: no code can be sent
TOO_MANY_CODES = "too-many-codes"  # a quota of codes is used up for now
OIDC_FAILED = "oidc-failed"  # the other service's sign-in did not come back usable
UNVERIFIABLE = "unverifiable"  # the verification provider could not answer; try again later


@dataclass(frozen=True)
class DetailsForm:
    action: str
    signin: str  # the sign-in form of the same request, for someone who has an account
    params: dict[str, str]  # the authorization request's fields
    csrf_token: str
    values: dict[str, str]  # what was typed, shown again after a problem
    problems: dict[str, str]  # field name -> what is wrong with it (a code)


@dataclass(frozen=True)
class NumberForm:
    """The first form of sign-in with a code, and of a new password: the mobile number."""

    action: str
    purpose: str  # SIGN_IN, NEW_PASSWORD or LINK
    signin: str  # the password form of the same request
    params: dict[str, str]
    csrf_token: str
    phone: str  # as typed, shown again after a problem
    problem: str | None = None  # "phone"
    hidden: dict[str, str] = field(default_factory=dict)  # the flow's own, carried along


@dataclass(frozen=True)
class CodeForm:
    action: str
    params: dict[str, str]
    csrf_token: str
    details: dict[str, str]  # the first form's values, hidden: the code is bound to them
    code_id: str
    phone: str  # masked
    minutes: int  # how long the code lives
    problem: str | None = None  # "wrong-code", "password" or UNVERIFIABLE
    purpose: str = SIGN_UP  # sign-up and NEW_PASSWORD ask for a password with the code
    back: str = ""  # the flow's first form, for a new code


class SignUpPages(Protocol):
    def locale(self, request: Request) -> str:
        """The person's language, for the code's text message too."""
        ...

    def details(self, request: Request, form: DetailsForm, status: int) -> Response: ...

    def number(self, request: Request, form: NumberForm, status: int) -> Response: ...

    def code(self, request: Request, form: CodeForm, status: int) -> Response: ...

    def ended(
        self, request: Request, reason: str, status: int, retry_after: int | None = None
    ) -> Response: ...


def sign_up_pages_of(request: Request) -> SignUpPages:
    """The pages create_app installed (the app's, web/signup_pages.py)."""
    installed: SignUpPages = request.app.state.sign_up_pages
    return installed
