"""This server's own HTTP API as the app calls it: in process over ASGI (no socket, the same
routes, middleware and rules as any client's call), from the browser's own address so that
per-address limits count the person, not the app."""

from typing import Any

import httpx
from starlette.requests import Request

from medsvc.web import i18n


class Api:
    def __init__(self, request: Request):
        address = request.client.host if request.client else "127.0.0.1"
        self._transport = httpx.ASGITransport(app=request.app, client=(address, 0))
        self._origin = request.app.state.web.origin
        self.language = i18n.TAGS[i18n.chosen(request)]  # for what the pages show

    async def call(self, method: str, path: str, **options: Any) -> httpx.Response:
        """One request handed to the app, its answer read whole. Straight to the transport: a
        call in process needs none of a client's redirects, cookies or connection pool, which
        cost more than the transport itself."""
        request = httpx.Request(method, self._origin + path, **options)
        response = await self._transport.handle_async_request(request)
        await response.aread()
        return response

    async def fhir(
        self,
        method: str,
        path: str,
        token: str,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> httpx.Response:
        sent = {"Accept": "application/fhir+json", **(headers or {})}
        sent["Authorization"] = f"Bearer {token}"
        return await self.call(method, f"/fhir/{path}", headers=sent, **options)
