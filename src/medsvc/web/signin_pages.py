"""The authorization endpoint's pages drawn as the app's: its style and the person's language
(installed on the app for security/signin_routes.py to use)."""

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from medsvc.security.signin_page import ChooseForm, Refusal, SignInForm
from medsvc.web.render import page

# Beside the app's headers: no framing by browsers that predate frame-ancestors.
HEADERS = {"X-Frame-Options": "DENY", "Pragma": "no-cache"}
FLOWS = ("signup", "code", "password")  # their paths under /auth


class AppSignInPages:
    def form(self, request: Request, form: SignInForm) -> Response:
        own_app = form.client_id == request.app.state.web.client_id
        # The language links return to this request's form, also after a failed POST.
        here = f"{request.url.path}?{urlencode(form.params)}"
        # Sign-up and the phone-code flows are the authorization endpoint's siblings, each
        # for the same request.
        auth = request.app.state.auth_urls.authorize.removesuffix("/authorize")
        query = urlencode(form.params)
        flows = {name: f"{auth}/{name}?{query}" for name in FLOWS}
        settings = request.app.state.settings
        if settings.oidc_issuer:  # "sign in with" the city's OpenID Connect provider
            flows["oidc"] = f"{auth}/oidc/start?{query}"
        provider = settings.oidc_display_name or settings.oidc_issuer
        values = {"form": form, "own_app": own_app, "here": here, "flows": flows}
        values["provider"] = provider
        return page(request, "signin.html", 200, HEADERS, **values)

    def choose(self, request: Request, form: ChooseForm) -> Response:
        # The language links return to this same picker (a GET), while it waits.
        here = f"{form.action}?{urlencode({'choice': form.choice_id})}"
        own_app = form.client_id == request.app.state.web.client_id
        return page(request, "choose.html", 200, HEADERS, form=form, here=here, own_app=own_app)

    def refusal(self, request: Request, refusal: Refusal) -> Response:
        headers = dict(HEADERS)
        if refusal.retry_after:
            headers["Retry-After"] = str(refusal.retry_after)
        minutes = -(-(refusal.retry_after or 0) // 60)
        return page(
            request,
            "signin_refused.html",
            refusal.status,
            headers,
            refusal=refusal,
            minutes=minutes,
        )
