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
        async with httpx.AsyncClient(
            transport=self._transport, base_url=self._origin, trust_env=False
        ) as client:
            return await client.request(method, path, **options)

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
