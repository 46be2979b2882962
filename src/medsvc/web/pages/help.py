"""The citizens' help page: creating an account, the ways of signing in, a forgotten password,
acting for family, and what the service keeps about the person; readable before anyone
signs in."""

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web.render import page


async def help_page(request: Request) -> Response:
    settings = request.app.state.settings
    # Named only where the sign-in page has its button (the issuer set).
    provider = (settings.oidc_display_name or settings.oidc_issuer) if settings.oidc_issuer else ""
    per_hour = settings.codes_per_phone_per_hour
    values = {"provider": provider, "per_hour": per_hour, "child_age": settings.proxy_child_age}
    return page(request, "help.html", **values)
