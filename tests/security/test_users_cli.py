"""medsvc users list, show, unlock, disable, enable and reset-password, run as real processes
against the test database while the server runs: what each does to sign-in and tokens, its
audit record, and the refusals (unknown user: exit 1 and one line on stderr)."""

import getpass
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from medsvc import clock
from medsvc.audit.events import ACCOUNT_SYSTEM
from medsvc.security.revocation import REREAD_SECONDS
from medsvc.security.signin import GENERIC_FAILURE
from tests.cli.test_main import medsvc
from tests.conftest import KEYS, Backend
from tests.security.conftest import PASSWORD, App
from tests.security.test_audit import events, verify

NEW_PASSWORD = "another long passphrase"


def users(backend: Backend, cwd: Path, *args: str, stdin: str = "") -> tuple[int, Any, str]:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEYS_DIR": KEYS.name}
    result = medsvc("users", *args, cwd=cwd, env=env, stdin=stdin)
    return result.returncode, json.loads(result.stdout or "null"), result.stderr


def works(app: App, token: str, citizen: str) -> int:
    bearer = {"Authorization": f"Bearer {token}"}
    return app.http.get(f"/fhir/Patient/{citizen}", headers=bearer).status_code


def refresh(app: App, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": app.client_id}
    return app.http.post("/auth/token", data=form)


def account_events(client: httpx.Client, account_id: str) -> list[tuple[str, str]]:
    """(subtype, action) of each audit record naming the account, oldest first; each names
    the operating-system user who ran the command."""
    found = []
    operator = {"identifier": {"value": f"os-user:{getpass.getuser()}"}}
    for event in events(client):
        for entity in event["entity"]:
            identifier = entity.get("what", {}).get("identifier", {})
            if identifier == {"system": ACCOUNT_SYSTEM, "value": account_id}:
                assert operator in [agent["who"] for agent in event["agent"]]
                found.append((event["subtype"][0]["code"], entity["detail"][0]["valueString"]))
    return found


def test_list_and_show_tell_no_secrets(
    client: httpx.Client, app: App, citizen: str, clean: Backend, tmp_path: Path
) -> None:
    status, listed, _ = users(clean, tmp_path, "list")
    assert status == 0
    (aino,) = listed["users"]
    assert (aino["username"], aino["role"], aino["fhirUser"]) == (
        "aino",
        "patient",
        f"Patient/{citizen}",
    )
    assert (aino["disabled"], aino["totp"]) == (False, False)
    status, shown, _ = users(clean, tmp_path, "show", "AINO")  # usernames compare normalised
    assert status == 0
    expected = {"failed_sign_ins": [], "identity": None, "external_links": []}
    assert shown == {"username": "aino", **aino, **expected}
    for text in (json.dumps(listed), json.dumps(shown)):
        assert "argon2" not in text
        assert "password" not in text
    show = [e for e in events(client) if e["subtype"][0]["code"] == "read"]
    assert {"reference": f"Patient/{citizen}"} in [n["what"] for n in show[-1]["entity"]]
    assert account_events(client, aino["id"]) == [("read", "show")]
    assert verify(clean, tmp_path)["whole"] is True


@pytest.mark.parametrize(
    "command", ["show", "unlock", "disable", "enable", "reset-password --password-stdin"]
)
def test_an_unknown_user_exits_1_with_one_line(
    app: App, citizen: str, clean: Backend, tmp_path: Path, command: str
) -> None:
    for name in ("nobody", "ain"):  # no prefix matches
        status, out, err = users(clean, tmp_path, *command.split(), name, stdin=NEW_PASSWORD)
        assert (status, out) == (1, None)
        assert err.count("\n") == 1
        assert err.startswith("medsvc: no user named")
    assert app.sign_in("aino").status_code == 302  # and nothing changed


def test_a_disabled_account_cannot_sign_in_and_its_tokens_stop(
    client: httpx.Client, app: App, citizen: str, clean: Backend, tmp_path: Path
) -> None:
    issued = app.exchange(app.code("aino")).json()
    waiting_code = app.code("aino")  # signed in before, exchanged after the account is disabled
    assert works(app, issued["access_token"], citizen) == 200
    status, done, _ = users(clean, tmp_path, "disable", "aino")
    assert (status, done) == (0, {"username": "aino", "disabled": True, "grants_revoked": 1})
    time.sleep(REREAD_SECONDS + 0.2)  # the server is another process than the command
    assert works(app, issued["access_token"], citizen) == 401
    assert refresh(app, issued["refresh_token"]).json()["error"] == "invalid_grant"
    assert app.exchange(waiting_code).json()["error"] == "invalid_grant"
    refused = app.sign_in("aino")
    assert (refused.status_code, GENERIC_FAILURE in refused.text) == (200, True)
    assert users(clean, tmp_path, "show", "aino")[1]["disabled"] is True
    status, done, _ = users(clean, tmp_path, "enable", "aino")
    assert (status, done) == (0, {"username": "aino", "disabled": False})
    assert works(app, issued["access_token"], citizen) == 401  # what was revoked stays so
    assert works(app, app.exchange(app.code("aino")).json()["access_token"], citizen) == 200
    account_id = users(clean, tmp_path, "show", "aino")[1]["id"]
    recorded = account_events(client, account_id)
    assert recorded[:2] == [("update", "disable"), ("read", "show")]
    assert recorded[2] == ("update", "enable")


def test_unlock_lifts_the_waits_failures_set(
    app: App, citizen: str, clean: Backend, tmp_path: Path
) -> None:
    frozen = clock.now()
    clock.set_source(lambda: frozen)
    for _ in range(6):
        app.sign_in("aino", password="not the passphrase")
    assert app.sign_in("aino").status_code == 429
    shown = users(clean, tmp_path, "show", "aino")[1]
    (place,) = shown["failed_sign_ins"]
    assert (place["address"], place["failures"]) == ("127.0.0.1", 6)
    assert users(clean, tmp_path, "unlock", "aino")[1] == {
        "username": "aino",
        "addresses_unlocked": 1,
    }
    assert app.sign_in("aino").status_code == 302


def test_reset_password_replaces_it_and_ends_every_grant(
    client: httpx.Client, app: App, citizen: str, clean: Backend, tmp_path: Path
) -> None:
    issued = app.exchange(app.code("aino")).json()
    too_short = users(clean, tmp_path, "reset-password", "aino", "--password-stdin", stdin="short")
    assert too_short[0] == 2
    assert "password must have" in too_short[2]
    assert works(app, issued["access_token"], citizen) == 200  # a refusal changes nothing
    status, done, _ = users(
        clean, tmp_path, "reset-password", "aino", "--password-stdin", stdin=NEW_PASSWORD + "\n"
    )
    assert (status, done) == (0, {"username": "aino", "password_reset": True, "grants_revoked": 1})
    time.sleep(REREAD_SECONDS + 0.2)
    assert works(app, issued["access_token"], citizen) == 401
    assert refresh(app, issued["refresh_token"]).json()["error"] == "invalid_grant"
    assert app.sign_in("aino", password=PASSWORD).status_code == 200
    assert app.sign_in("aino", password=NEW_PASSWORD).status_code == 302
    account_id = users(clean, tmp_path, "show", "aino")[1]["id"]
    assert ("update", "reset-password") in account_events(client, account_id)
    assert len([e for e in account_events(client, account_id) if e[1] == "reset-password"]) == 1
    assert verify(clean, tmp_path)["whole"] is True
