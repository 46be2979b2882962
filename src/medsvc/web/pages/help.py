"""The citizens' help page: creating an account, the ways of signing in, a forgotten password,
and what the service keeps about the person; readable before anyone signs in."""

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web.render import page


async def help_page(request: Request) -> Response:
    settings = request.app.state.settings
    provider = settings.oidc_display_name or settings.oidc_issuer
    return page(request, "help.html", provider=provider)
