"""The context dependency: open mode is local only; smart mode needs a token."""

import asyncio
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from medsvc.config import Settings
from medsvc.errors import Forbidden, Unauthorized
from medsvc.security.context import OPEN_CONTEXT, auth_context, open_mode_refusal


def request_from(client_host: str, settings: Settings) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/fhir/Patient",
        "headers": [],
        "client": (client_host, 50000),
        "app": app,
    }
    return Request(scope)


def test_open_mode_serves_loopback_callers() -> None:
    settings = Settings(auth_mode="open")
    assert asyncio.run(auth_context(request_from("127.0.0.1", settings))) is OPEN_CONTEXT


def test_open_mode_refuses_other_callers() -> None:
    with pytest.raises(Forbidden):
        asyncio.run(auth_context(request_from("10.1.2.3", Settings(auth_mode="open"))))


def test_smart_mode_requires_a_token() -> None:
    with pytest.raises(Unauthorized) as raised:
        asyncio.run(auth_context(request_from("127.0.0.1", Settings(auth_mode="smart"))))
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")


def test_open_mode_refusals() -> None:
    sqlite = Settings(auth_mode="open")
    assert open_mode_refusal(sqlite, "127.0.0.1") is None
    assert "loopback" in (open_mode_refusal(sqlite, "0.0.0.0") or "")
    postgres = Settings(auth_mode="open", database_url="postgresql+psycopg://u@h/d")
    assert "SQLite" in (open_mode_refusal(postgres, "127.0.0.1") or "")
    assert (
        open_mode_refusal(
            Settings(auth_mode="smart", database_url="postgresql+psycopg://u@h/d"), "0.0.0.0"
        )
        is None
    )
