"""Health endpoints, the error handlers (of last resort, of database errors), and who may run
in open mode."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc
from starlette.requests import Request

from medsvc.app import ConfigurationError, create_app
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.errors import DATABASE_ERRORS, error_status
from tests.conftest import Backend, LiveServer, free_port, make_settings, platform_app


@pytest.fixture
def own_server(clean: Backend) -> Iterator[tuple[FastAPI, str]]:
    port = free_port()
    settings = make_settings(clean.url, port)
    app = platform_app(settings, clean.database)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with LiveServer(app, port) as server:
        yield app, server.url


def test_health_and_readiness(own_server: tuple[FastAPI, str]) -> None:
    _app, url = own_server
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_unexpected_errors_are_500_outcomes_without_internals(
    own_server: tuple[FastAPI, str],
) -> None:
    _app, url = own_server
    response = httpx.get(f"{url}/boom", headers={"X-Request-Id": "abc-123"})
    assert response.status_code == 500
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "secret" not in response.text
    assert "abc-123" in outcome["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    ("kind", "status"),
    [(exc.IntegrityError, 409), (exc.DataError, 400), (exc.OperationalError, 503)],
)
def test_a_database_error_is_audited_with_the_status_it_is_answered_with(
    own_server: tuple[FastAPI, str], kind: type[exc.DBAPIError], status: int
) -> None:
    app, _url = own_server
    assert set(DATABASE_ERRORS) == {exc.IntegrityError, exc.DataError, exc.OperationalError}
    error = kind("INSERT INTO resource ...", {}, Exception("refused by the database"))
    answer = app.exception_handlers[kind](Request({"type": "http"}), error)
    assert answer.status_code == error_status(error) == status
    assert b"refused by the database" not in answer.body


def test_request_id_is_echoed(own_server: tuple[FastAPI, str]) -> None:
    _app, url = own_server
    response = httpx.get(f"{url}/healthz", headers={"X-Request-Id": "trace-1"})
    assert response.headers["x-request-id"] == "trace-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    generated = httpx.get(f"{url}/healthz", headers={"X-Request-Id": "bad id!"})
    assert generated.headers["x-request-id"] != "bad id!"


def test_readiness_reports_pending_migrations(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/empty.db"
    port = free_port()
    settings = make_settings(url, port)
    database = Database(settings)
    with LiveServer(create_app(settings, database), port) as server:
        assert httpx.get(f"{server.url}/readyz").status_code == 503
    database.dispose()


def test_smart_mode_without_token_is_401(tmp_path) -> None:
    port = free_port()
    settings = make_settings(f"sqlite:///{tmp_path}/x.db", port)
    database = Database(settings)
    with LiveServer(create_app(settings, database), port) as server:
        response = httpx.get(f"{server.url}/fhir/Patient")
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["resourceType"] == "OperationOutcome"
        assert httpx.get(f"{server.url}/fhir/metadata").status_code == 200
    database.dispose()


def test_open_mode_only_with_sqlite() -> None:
    settings = Settings(database_url="postgresql+psycopg://u@h/db", auth_mode="open")
    with pytest.raises(ConfigurationError):
        create_app(settings)


def test_open_mode_serves_on_sqlite(tmp_path) -> None:
    from medsvc.kit import migrate

    url = f"sqlite:///{tmp_path}/open.db"
    migrate.upgrade(url)
    port = free_port()
    settings = Settings(
        database_url=url, auth_mode="open", base_url=f"http://127.0.0.1:{port}/fhir"
    )
    database = Database(settings)
    with LiveServer(create_app(settings, database), port) as server:
        created = httpx.post(
            f"{server.url}/fhir/Patient",
            json={"resourceType": "Patient"},
            headers={"Content-Type": "application/fhir+json"},
        )
        assert created.status_code == 201
    database.dispose()
