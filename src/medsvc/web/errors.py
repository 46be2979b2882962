"""The app's one error: a page that cannot be shown, rendered as a page in the person's
language (never the API's OperationOutcome), with the status it carries."""

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web.render import page


class PageError(Exception):
    """reason names the message of error.html: not-found, signed-out, unavailable, refused."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


async def render_page_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PageError)
    return page(request, "error.html", error.status, reason=error.reason)
