"""users add, clients add-app, clients add-system and tokens rotate-key, run as real
processes against the test database: one JSON object on stdout, or exit 2 and nothing written."""

import json
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import func, select

from medsvc.security.accounts import find_account
from medsvc.security.clients import find_client
from medsvc.security.passwords import verify_password
from medsvc.security.tables import Account, OAuthClient
from tests.cli.test_main import medsvc
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient

PASSWORD = "a long enough passphrase"


def run(backend: Backend, tmp_path: Path, *args: str, stdin: str = "") -> tuple[int, dict, str]:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEYS_DIR": str(tmp_path / "keys")}
    result = medsvc(*args, cwd=tmp_path, env=env, stdin=stdin)
    return result.returncode, json.loads(result.stdout or "{}"), result.stderr


def users_add(backend: Backend, tmp_path: Path, username: str, *options: str) -> tuple:
    """`medsvc users add` with the test password on stdin, as an operator pipes it."""
    return run(
        backend,
        tmp_path,
        "users",
        "add",
        "--username",
        username,
        "--password-stdin",
        *options,
        stdin=PASSWORD + "\n",
    )


def count(backend: Backend, table: type) -> int:
    with backend.database.session(write=False) as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_users_add_links_an_existing_patient(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    patient_id = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    status, made, _ = users_add(
        clean, tmp_path, "Aino", "--role", "patient", "--patient", f"Patient/{patient_id}"
    )
    assert status == 0
    assert made == {
        "id": made["id"],
        "username": "aino",
        "role": "patient",
        "fhirUser": f"Patient/{patient_id}",
    }
    with clean.database.session(write=False) as connection:
        account = find_account(connection, "AINO")
    assert account is not None
    assert verify_password(account.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--role", "patient", "--patient", "Patient/missing"], "is not a Patient"),
        (["--role", "patient", "--patient", "Practitioner/x"], "is not a Patient"),
        (["--role", "practitioner"], "linked to one Practitioner"),
    ],
)
def test_users_add_refusals_write_nothing(
    clean: Backend, tmp_path: Path, args: list[str], reason: str
) -> None:
    status, _, stderr = users_add(clean, tmp_path, "u", *args)
    assert status == 2
    assert reason in stderr
    assert count(clean, Account) == 0


def test_clients_add_app(clean: Backend, tmp_path: Path) -> None:
    status, made, _ = run(
        clean,
        tmp_path,
        "clients",
        "add-app",
        "--name",
        "Citizen app",
        "--redirect-uri",
        "https://app.example/cb",
        "--confidential",
    )
    assert status == 0
    assert made["confidential"] is True
    assert len(made["client_secret"]) >= 43  # 256 bits, base64url
    status, public, _ = run(
        clean,
        tmp_path,
        "clients",
        "add-app",
        "--name",
        "Phone",
        "--redirect-uri",
        "com.example.app:/cb",
        "--scope",
        "patient/*.rs openid",
    )
    assert (status, "client_secret" in public) == (0, False)
    with clean.database.session(write=False) as connection:
        found = find_client(connection, public["client_id"])
    assert found is not None
    assert found.scopes == "patient/*.rs openid"


def add_system(backend: Backend, tmp_path: Path, jwks: Path, *options: str) -> tuple:
    return run(
        backend, tmp_path, "clients", "add-system", "--name", "Lab", "--jwks", str(jwks), *options
    )


def test_clients_add_system(client: httpx.Client, clean: Backend, tmp_path: Path) -> None:
    organization = client.post(
        "/Organization", json={"resourceType": "Organization", "name": "Lab"}, headers=FHIR_JSON
    ).json()["id"]
    jwks = tmp_path / "jwks.json"
    keys = [ECKey.generate_key("P-384"), RSAKey.generate_key(2048)]
    public = [{**k.as_dict(private=False), "kid": f"k{n}"} for n, k in enumerate(keys)]
    jwks.write_text(json.dumps({"keys": public}))
    status, made, _ = add_system(
        clean,
        tmp_path,
        jwks,
        "--organization",
        f"Organization/{organization}",
        "--scope",
        "system/Observation.cruds",
    )
    assert status == 0
    assert made["organization"] == f"Organization/{organization}"
    missing, _, stderr = add_system(clean, tmp_path, jwks, "--organization", "Organization/none")
    assert (missing, "is not a Organization" in stderr) == (2, True)
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [{**keys[0].as_dict(private=True), "kid": "p"}]}))
    refused, _, stderr = add_system(clean, tmp_path, private)
    assert (refused, "private part" in stderr) == (2, True)
    assert count(clean, OAuthClient) == 1


def test_tokens_rotate_key(clean: Backend, tmp_path: Path) -> None:
    first = run(clean, tmp_path, "tokens", "rotate-key")[1]["kid"]
    second = run(clean, tmp_path, "tokens", "rotate-key")[1]["kid"]
    assert first != second
    assert len(list((tmp_path / "keys" / "signing").glob("*.pem"))) == 2


def test_users_add_with_a_one_time_code(clean: Backend, tmp_path: Path) -> None:
    status, made, _ = users_add(clean, tmp_path, "ops", "--role", "admin", "--totp")
    assert status == 0
    assert made["totp_uri"].startswith("otpauth://totp/medsvc:ops?secret=")
    with clean.database.session(write=False) as connection:
        account = find_account(connection, "ops")
    assert account is not None
    assert account.totp_secret is not None
    assert account.totp_secret in made["totp_uri"]
