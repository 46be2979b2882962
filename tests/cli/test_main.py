"""The medsvc command, run as a real process from another working directory."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import create_engine, text

from medsvc.kit import migrate
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
            listening = (
                f"medsvc: listening on http://127.0.0.1:{port}, FHIR base {env['MEDSVC_BASE_URL']}"
            )
            assert listening in log.read_text()
            assert f"the app at http://127.0.0.1:{port}/app/" in log.read_text()
            # Both workers sign people in to the app as one client, from one key file.
            starts = [httpx.get(f"http://127.0.0.1:{port}/app/signin") for _ in range(4)]
            clients = {
                parse_qs(urlsplit(s.headers["location"]).query)["client_id"][0] for s in starts
            }
            assert len(clients) == 1
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


def wait_until_ready(url: str, seconds: float = 120) -> bool:
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


def refusal_line(result: subprocess.CompletedProcess) -> str:
    """The one line a refused command printed, checked to be alone and without a traceback."""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return str(lines[0])


COMMANDS = [
    ("serve", "--port", "1"),
    ("worker",),
    ("db", "upgrade"),
    ("db", "reindex"),
    ("demo", "load"),
    ("users", "add", "--role", "admin", "--username", "a", "--password-stdin"),
    ("keys", "status"),
    ("patients", "erase", "Patient/p-1"),
    ("audit", "verify"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_every_command_names_a_bad_setting_in_one_line_and_exits_2(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = medsvc(*command, cwd=tmp_path, env={"MEDSVC_MAX_PAGE_SIZE": "many"}, stdin="pw\n")
    assert result.returncode == 2
    assert refusal_line(result).startswith("medsvc: MEDSVC_MAX_PAGE_SIZE: ")
    assert not (tmp_path / "var").exists()  # refused before any work


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("MEDSVC_TIMEZONE", "Europe/Atlantis"),
        ("MEDSVC_TIMEZONE", "../../etc/passwd"),
        ("MEDSVC_DATABASE_URL", "not a url"),
        ("MEDSVC_DATABASE_URL", "mysql://db/medsvc"),
        ("MEDSVC_DATABASE_URL", "postgresql+nodriver://db/medsvc"),
        ("MEDSVC_AUTH_MODE", "maybe"),
        ("MEDSVC_LOG_LEVEL", "LOUD"),
        ("MEDSVC_BASE_URL", "ftp://medsvc/fhir"),
        ("MEDSVC_HTTP_MAX_CONNECTIONS", "0"),
        ("MEDSVC_HTTP_HEADER_TIMEOUT_SECONDS", "-1"),
        ("MEDSVC_REMINDER_HOURS", "soon"),
        ("MEDSVC_RELEASE_RULES", "PAT=never"),
    ],
)
def test_serve_refuses_a_bad_setting_at_start(tmp_path: Path, setting: str, value: str) -> None:
    result = medsvc("serve", "--port", str(free_port()), cwd=tmp_path, env={setting: value})
    assert result.returncode == 2
    assert refusal_line(result).startswith(f"medsvc: {setting}: ")


@pytest.mark.parametrize("command", [("demo", "load"), ("db", "reindex"), ("worker",)])
def test_commands_that_build_the_fhir_layer_refuse_settings_its_domains_parse(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    result = medsvc(*command, cwd=tmp_path, env={"MEDSVC_REMINDER_HOURS": "24,-2"})
    assert result.returncode == 2
    assert refusal_line(result).startswith("medsvc: MEDSVC_REMINDER_HOURS: ")


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://medsvc:s3cret-word@127.0.0.1:{free_port()}/medsvc"
    result = medsvc("db", "upgrade", cwd=tmp_path, env={"MEDSVC_DATABASE_URL": url})
    assert result.returncode == 2
    line = refusal_line(result)
    assert line.startswith("medsvc: MEDSVC_DATABASE_URL: the database cannot be used: ")
    assert "s3cret-word" not in result.stderr + result.stdout


def test_a_bad_database_url_is_not_repeated(tmp_path: Path) -> None:
    url = "postgresql+nodriver://medsvc:s3cret-word@db/medsvc"
    result = medsvc("db", "upgrade", cwd=tmp_path, env={"MEDSVC_DATABASE_URL": url})
    assert result.returncode == 2
    assert "s3cret-word" not in refusal_line(result)


def test_erasing_an_unknown_patient_exits_1_in_one_line(backend: Backend, tmp_path: Path) -> None:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEYS_DIR": str(tmp_path / "keys")}
    result = medsvc("patients", "erase", "Patient/nobody", cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert refusal_line(result) == "medsvc: Patient/nobody is not a patient on this server"
