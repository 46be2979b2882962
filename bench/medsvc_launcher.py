"""The medsvc app as the benchmark serves it: every caller acts as the platform, on any database."""

import os

from fastapi import FastAPI, Request

from medsvc.app import create_app
from medsvc.config import Settings
from medsvc.kit import heap
from medsvc.security.context import OPEN_CONTEXT, AuthContext, auth_context


async def _platform_context(_request: Request) -> AuthContext:
    return OPEN_CONTEXT


def create() -> FastAPI:
    """The uvicorn factory (`--factory medsvc_launcher:create`); settings come from MEDSVC_*.

    BENCH_AUTH says how callers get in:

    - "open" (default): every caller acts as the platform without sign-in. create_app refuses
      open mode on PostgreSQL, so the app is built in smart mode and its settings are then
      switched to open mode, so the real auth_context dependency runs as `make run` serves it.
    - "override": app.dependency_overrides[auth_context], as the test suite does. The app
      stays in sign-in mode, so it records an AuditEvent for every access to patient data,
      as production does (the "read, audited" scenario).
    - "smart": the app as production serves it: every request carries an access token this
      server's keys signed (bench/tokens.py mints them from MEDSVC_KEYS_DIR), which it
      verifies and checks for revocation, and every access is audited.
    """
    settings = Settings()
    app = create_app(settings)
    mode = os.environ.get("BENCH_AUTH", "open")
    if mode == "override":
        app.dependency_overrides[auth_context] = _platform_context
    elif mode == "open":
        app.state.settings = settings.model_copy(update={"auth_mode": "open"})
    heap.settle()  # as medsvc.app.asgi_app, the factory of `medsvc serve`
    return app
