"""The app's forms: read with a size bound, and accepted only from this site's own pages in
this session (a synchronizer token per session, and the Origin header where sent)."""

import hmac
from urllib.parse import parse_qsl

from starlette.requests import Request

from medsvc.web.sessions import Session

MAX_FORM_BYTES = 16 * 1024  # the app's forms carry a few short fields
FIELD = "csrf_token"


def same(expected: str, given: str) -> bool:
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def _from_this_site(request: Request) -> bool:
    """Browsers send Origin with every POST (Fetch standard); a missing one is an older
    browser's, which the token alone covers."""
    origin = request.headers.get("origin")
    return origin is None or origin == request.app.state.web.origin


async def posted(request: Request, session: Session) -> dict[str, str] | None:
    """The form's fields, or None when it is too large, unreadable, or not from our page."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES or not _from_this_site(request):
        return None
    try:
        form = dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        return None
    if any("\x00" in v for v in form.values()):
        return None
    return form if same(session.csrf, form.get(FIELD, "")) else None
