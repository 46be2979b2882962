"""The bare FastAPI baselines: the benchmark's four routes answering with medsvc's own bytes."""

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

from fastapi import Depends, FastAPI, Request, Response

Reply = Callable[[str], Response]


async def request_body(request: Request) -> bytes:
    """The whole request body, read on the event loop (a `def` endpoint cannot await it)."""
    return await request.body()


def create() -> FastAPI:
    """The "bare async" app: `async def` endpoints, run on the event loop."""
    return _app(sync=False)


def create_sync() -> FastAPI:
    """The "bare sync" app: plain `def` endpoints, which FastAPI runs in its threadpool."""
    return _app(sync=True)


def _app(sync: bool) -> FastAPI:
    """The routes; BENCH_RESPONSES names the JSON file of captured medsvc responses."""
    captured = json.loads(Path(os.environ["BENCH_RESPONSES"]).read_text())
    canned = {
        name: (base64.b64decode(r["body"]), r["status"], r["headers"])
        for name, r in captured.items()
    }
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def reply(name: str) -> Response:
        # A fresh Response per request, as any endpoint builds one; only the bytes are canned.
        body, status, headers = canned[name]
        return Response(body, status_code=status, headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    if sync:
        _sync_routes(app, reply)
    else:
        _async_routes(app, reply)
    return app


def _async_routes(app: FastAPI, reply: Reply) -> None:
    # POST bodies are read in full, as medsvc reads them, so upload cost counts on all sides.
    @app.post("/fhir/Patient")
    async def create_patient(request: Request) -> Response:
        await request.body()
        return reply("create")

    @app.get("/fhir/Patient/{resource_id}")
    async def read_patient(resource_id: str) -> Response:
        return reply("read")

    @app.get("/fhir/Slot")
    async def search_slots() -> Response:
        return reply("search")

    @app.post("/fhir")
    async def transaction(request: Request) -> Response:
        await request.body()
        return reply("transaction")


def _sync_routes(app: FastAPI, reply: Reply) -> None:
    # FastAPI resolves the async dependency on the event loop, then hands the `def` endpoint
    # to a worker thread (starlette's run_in_threadpool, i.e. anyio's default thread limiter).
    @app.post("/fhir/Patient")
    def create_patient(body: bytes = Depends(request_body)) -> Response:
        return reply("create")

    @app.get("/fhir/Patient/{resource_id}")
    def read_patient(resource_id: str) -> Response:
        return reply("read")

    @app.get("/fhir/Slot")
    def search_slots() -> Response:
        return reply("search")

    @app.post("/fhir")
    def transaction(body: bytes = Depends(request_body)) -> Response:
        return reply("transaction")
