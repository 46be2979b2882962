"""The language switch: a link (no form, nothing stored but the browser's cookie) that
remembers the choice for a year and returns to the page it was chosen on."""

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from medsvc.web import i18n

YEAR = 365 * 24 * 3600
# Only the app's own pages and the first pages of sign-in, sign-up and the phone-code flows:
# a path, never a scheme, a host (//…) or a backslash that some browsers read as a slash; a
# query percent-encoded.
BACK = re.compile(
    r"(/app/[A-Za-z0-9/_.\-]*|/auth/(?:authorize|signup|code|password|choose))(\?[A-Za-z0-9=&_.%+~\-]*)?"
)


def back_to(requested: str) -> str:
    if BACK.fullmatch(requested) and "//" not in requested and "/../" not in requested:
        return requested
    return "/app/"


async def choose_language(request: Request) -> Response:
    locale = i18n.SHORT.get(request.query_params.get("to", ""))
    response = RedirectResponse(
        back_to(request.query_params.get("next", "")),
        status_code=303,
        headers={"Cache-Control": "no-store"},
    )
    if locale is not None:
        remember(request, response, request.query_params["to"])
    return response


def remember(request: Request, response: Response, short: str) -> None:
    """The browser keeps the language ("zh" or "en") for a year."""
    secure = bool(request.app.state.web.origin.startswith("https://"))
    response.set_cookie(
        i18n.COOKIE, short, max_age=YEAR, path="/", secure=secure, httponly=True, samesite="lax"
    )
