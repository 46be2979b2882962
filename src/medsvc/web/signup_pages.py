"""The phone-code flows' pages drawn as the app's: sign-up's details, the mobile number of a
sign-in with a code or a new password, the code form and the ends without an account, in the
app's style and the person's language (installed for identity's routes)."""

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from medsvc.security.signup_page import CodeForm, DetailsForm, NumberForm
from medsvc.web import i18n
from medsvc.web.render import page
from medsvc.web.signin_pages import HEADERS


class AppSignUpPages:
    def locale(self, request: Request) -> str:
        return i18n.chosen(request)

    # The language links return to the flow's first form, for the same request: also from
    # a page that answers a POST.
    def details(self, request: Request, form: DetailsForm, status: int) -> Response:
        here = f"{form.action}?{urlencode(form.params)}"
        return page(request, "signup.html", status, HEADERS, form=form, here=here)

    def number(self, request: Request, form: NumberForm, status: int) -> Response:
        here = f"{form.action}?{urlencode(form.params)}"
        return page(request, "phone_number.html", status, HEADERS, form=form, here=here)

    def code(self, request: Request, form: CodeForm, status: int) -> Response:
        return page(request, "signup_code.html", status, HEADERS, form=form, here=form.back)

    def ended(
        self, request: Request, reason: str, status: int, retry_after: int | None = None
    ) -> Response:
        headers = dict(HEADERS) | ({"Retry-After": str(retry_after)} if retry_after else {})
        minutes = -(-(retry_after or 0) // 60)
        return page(request, "signup_ended.html", status, headers, reason=reason, minutes=minutes)
