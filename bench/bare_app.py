"""The bare FastAPI baseline: the benchmark's four routes, answering with medsvc's own bytes."""

import base64
import json
import os
from pathlib import Path

from fastapi import FastAPI, Request, Response


def create() -> FastAPI:
    """The uvicorn factory; BENCH_RESPONSES names the JSON file of captured medsvc responses."""
    captured = json.loads(Path(os.environ["BENCH_RESPONSES"]).read_text())
    canned = {name: (base64.b64decode(r["body"]), r["status"], r["headers"])
              for name, r in captured.items()}
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def reply(name: str) -> Response:
        # A fresh Response per request, as any endpoint builds one; only the bytes are canned.
        body, status, headers = canned[name]
        return Response(body, status_code=status, headers=headers)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # POST bodies are read in full, as medsvc reads them, so upload cost counts on both sides.
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

    return app
