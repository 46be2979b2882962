"""Errors on the app's paths answered as the app's pages: a path or method the router does not
know, a database that could not answer, or an error nobody expected. Below the app, these
answers are the API's OperationOutcomes; a person reading a page gets a page in their
language instead, naming the request id to quote when the fault is ours."""

import logging

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medsvc.kit.requestlog import request_id
from medsvc.web.render import page

log = logging.getLogger("medsvc.web")
OUTCOME_TYPE = b"application/fhir+json"
# The error page's reason for an outcome's status; any other is "unavailable".
REASONS = {
    401: "signed-out",
    403: "not-found",  # as the API answers: what is not yours is not there
    404: "not-found",
    405: "not-found",
    410: "not-found",
    500: "internal",
}


def _is_outcome(message: Message) -> bool:
    headers = dict(message.get("headers") or [])
    return bool(headers.get(b"content-type", b"").startswith(OUTCOME_TYPE))


class ErrorPages:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/app/") or path.startswith("/app/static/"):
            await self.app(scope, receive, send)
            return
        started, replaced = False, 0

        async def watched(message: Message) -> None:
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                if _is_outcome(message):
                    replaced = int(message["status"])
                    return
            if not replaced:
                await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            raise
        except Exception:
            if started and not replaced:
                raise  # the page had begun: only the connection can be closed
            log.exception("unhandled error on a page")
            replaced = 500
        if replaced:
            await self._error_page(scope, receive, send, replaced)

    async def _error_page(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        reason = REASONS.get(status, "unavailable")
        shown = 404 if status == 403 else status
        response = page(Request(scope), "error.html", shown, reason=reason, rid=request_id.get())
        await response(scope, receive, send)
