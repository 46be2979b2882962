"""The medsvc command, run as a real process from another working directory."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from medsvc import migrate
from tests.conftest import Backend, free_port


def medsvc(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "medsvc", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_db_check_passes_on_the_shipped_migrations(tmp_path: Path) -> None:
    result = medsvc("db", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "agree" in result.stdout


def test_models_match_migrations_on_the_test_database(backend: Backend) -> None:
    assert migrate.differences(backend.url) is None


def test_db_upgrade_creates_the_embedded_database_under_var(tmp_path: Path) -> None:
    env = {"MEDSVC_DATABASE_URL": "sqlite:///./var/medsvc.db"}
    result = medsvc("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "medsvc.db").exists()


def test_demo_load_is_idempotent(tmp_path: Path) -> None:
    env = {"MEDSVC_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    first = json.loads(medsvc("demo", "load", cwd=tmp_path, env=env).stdout)
    second = json.loads(medsvc("demo", "load", cwd=tmp_path, env=env).stdout)
    assert first["created"] > 0
    assert first["existing"] == 0
    assert second == {"created": 0, "existing": first["created"]}


@pytest.mark.parametrize(
    ("env", "host", "message"),
    [
        (
            {"MEDSVC_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/none"},
            "127.0.0.1",
            "SQLite",
        ),
        ({}, "0.0.0.0", "loopback"),
    ],
)
def test_serve_refuses_open_mode_outside_loopback_sqlite(
    tmp_path: Path, env: dict, host: str, message: str
) -> None:
    result = medsvc("serve", "--host", host, cwd=tmp_path, env={"MEDSVC_AUTH_MODE": "open", **env})
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_migrates_then_serves_with_workers(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "MEDSVC_DATABASE_URL": "sqlite:///./var/medsvc.db",
        "MEDSVC_BASE_URL": f"http://127.0.0.1:{port}/fhir",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "medsvc", "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
        )
        try:
            assert wait_until_ready(f"http://127.0.0.1:{port}/readyz"), log.read_text()
            assert medsvc("demo", "load", cwd=tmp_path, env=env).returncode == 0
            token = json.loads(medsvc("demo", "token", "--system", cwd=tmp_path, env=env).stdout)
            bearer = {"Authorization": f"Bearer {token['access_token']}"}
            created = httpx.post(
                f"http://127.0.0.1:{port}/fhir/Patient",
                json={"resourceType": "Patient"},
                headers={"Content-Type": "application/fhir+json", **bearer},
            )
            assert created.status_code == 201
            location = created.headers["location"]
            assert location.startswith(f"http://127.0.0.1:{port}/fhir/Patient/")
            # Either worker checks the token: both read the one key directory under ./var.
            reads = [httpx.get(location, headers=bearer).status_code for _ in range(8)]
            assert reads == [200] * 8
            assert httpx.get(location).status_code == 401
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert (tmp_path / "var" / "medsvc.db").exists()


def wait_until_ready(url: str, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False


def test_db_check_finds_a_schema_that_differs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/drifted.db"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_search_token_resource_pk_param_code_system"))
    engine.dispose()
    found = migrate.differences(url)
    assert found is not None
    assert "ix_search_token_resource_pk_param_code_system" in found
