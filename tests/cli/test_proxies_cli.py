"""medsvc proxies add, list and revoke, run as real processes on both databases: JSON on
stdout, the RelatedPerson made and ended with the proxy, each command in the audit trail,
and the refusals (exit 2, one line on stderr)."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from medsvc.audit import trail
from tests.cli.test_main import medsvc
from tests.conftest import KEYS, Backend
from tests.factories import FHIR_JSON


def run(backend: Backend, cwd: Path, *args: str) -> tuple[int, Any, str]:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEYS_DIR": KEYS.name}
    result = medsvc("proxies", *args, cwd=cwd, env=env)
    return result.returncode, json.loads(result.stdout or "null"), result.stderr


def patient(client: httpx.Client, born: str) -> str:
    made = client.post(
        "/Patient",
        json={"resourceType": "Patient", "name": [{"text": "王小明"}], "birthDate": born},
        headers=FHIR_JSON,
    )
    assert made.status_code == 201, made.text
    return f"Patient/{made.json()['id']}"


def test_add_list_and_revoke_a_parent_s_proxy(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    parent, child = patient(client, "1988-04-01"), patient(client, "2019-06-15")
    status, added, errors = run(
        clean,
        tmp_path,
        "add",
        "--patient",
        child,
        "--proxy",
        parent,
        "--kind",
        "guardian",
        "--relationship",
        "FTH",
    )
    assert status == 0, errors
    assert (added["patient"], added["proxy"], added["kind"]) == (child, parent, "guardian")
    assert added["ends"].startswith("2033-06-15")  # the 14th birthday
    assert added["relatedPerson"] == f"RelatedPerson/{added['id']}"
    related = client.get(f"/{added['relatedPerson']}").json()
    assert related["active"] is True
    status, listed, _ = run(clean, tmp_path, "list", "--patient", child)
    assert [p["id"] for p in listed["proxies"]] == [added["id"]]
    status, revoked, errors = run(clean, tmp_path, "revoke", added["id"])
    assert status == 0, errors
    assert revoked["grants_revoked"] == 0
    ended = client.get(f"/{added['relatedPerson']}").json()
    assert ended["active"] is False
    assert "end" in ended["period"]
    again = run(clean, tmp_path, "revoke", added["id"])
    assert again[0] == 2
    trail.flush_all()
    events = client.get("/AuditEvent", params={"entity": child, "_count": "100"}).json()
    subtypes = [e["resource"]["subtype"][0]["code"] for e in events["entry"]]
    assert {"create", "search-type", "update"} <= set(subtypes)


@pytest.mark.parametrize(
    ("kind", "relationship", "born", "why"),
    [
        ("guardian", "MTH", "2000-01-01", "14 or older"),
        ("guardian", "SPS", "2019-01-01", "relationship is one of"),
        ("sideways", "MTH", "2019-01-01", "invalid choice"),
        ("consented", "GUARD", "1990-01-01", "relationship is one of"),
    ],
)
def test_proxies_the_service_refuses(
    client: httpx.Client,
    clean: Backend,
    tmp_path: Path,
    kind: str,
    relationship: str,
    born: str,
    why: str,
) -> None:
    parent, other = patient(client, "1960-01-01"), patient(client, born)
    status, _, errors = run(
        clean,
        tmp_path,
        "add",
        "--patient",
        other,
        "--proxy",
        parent,
        "--kind",
        kind,
        "--relationship",
        relationship,
    )
    assert status == 2
    assert why in errors
    assert run(clean, tmp_path, "list")[1] == {"proxies": []}


def test_unknown_patients_and_proxies_are_refused(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    parent = patient(client, "1960-01-01")
    status, _, errors = run(
        clean,
        tmp_path,
        "add",
        "--patient",
        "Patient/nobody",
        "--proxy",
        parent,
        "--kind",
        "consented",
        "--relationship",
        "CHILD",
    )
    assert status == 2
    assert "Patient/nobody" in errors
    assert run(clean, tmp_path, "revoke", "no-such-proxy")[0] == 1
    same = run(
        clean,
        tmp_path,
        "add",
        "--patient",
        parent,
        "--proxy",
        parent,
        "--kind",
        "consented",
        "--relationship",
        "CHILD",
    )
    assert same[0] == 2
