"""The demo's people and clients: `medsvc demo load` makes them once, and `medsvc demo token`
gets working tokens from a running server as the hospital system and as a citizen."""

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from medsvc.app import create_app
from medsvc.cli.demo_bundle import SYSTEM
from medsvc.db import Database
from medsvc.kit import migrate
from tests.cli.test_main import medsvc
from tests.conftest import LiveServer, free_port, make_settings
from tests.factories import observation


def test_demo_tokens_work_against_a_running_server(tmp_path: Path) -> None:
    port = free_port()
    url = f"sqlite:///{tmp_path}/demo.db"
    env = {
        "MEDSVC_DATABASE_URL": url,
        "MEDSVC_BASE_URL": f"http://127.0.0.1:{port}/fhir",
        "MEDSVC_KEYS_DIR": str(tmp_path / "keys"),
    }
    loaded = medsvc("demo", "load", cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "medsvc demo token --system" in loaded.stderr
    state_file = tmp_path / "var" / "demo" / "access.json"
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    state = json.loads(state_file.read_text())
    assert set(state["passwords"]) == {"mei", "jian", "dr.wang", "dr.chen", "dr.zhang"}
    again = medsvc("demo", "load", cwd=tmp_path, env=env)
    assert json.loads(again.stdout)["created"] == 0
    assert json.loads(state_file.read_text()) == state  # the same people and clients

    migrate.upgrade(url)
    settings = make_settings(url, port, keys_dir=str(tmp_path / "keys"))
    database = Database(settings)
    with (
        LiveServer(create_app(settings, database), port) as server,
        httpx.Client(base_url=server.url + "/fhir") as http,
    ):
        system = json.loads(medsvc("demo", "token", "--system", cwd=tmp_path, env=env).stdout)
        slots = http.get(
            "/Slot",
            params={"status": "free"},
            headers={"Authorization": f"Bearer {system['access_token']}"},
        )
        assert slots.json()["total"] > 0
        person = json.loads(
            medsvc("demo", "token", "--username", "mei", cwd=tmp_path, env=env).stdout
        )
        own = http.get(
            f"/Patient/{person['patient']}",
            headers={"Authorization": f"Bearer {person['access_token']}"},
        )
        assert own.json()["name"][0]["given"] == ["梅"]
        others = http.get("/Patient", headers={"Authorization": f"Bearer {person['access_token']}"})
        assert others.json()["total"] == 1
        citizen_app_books_and_reads_results(http, system, person)
    database.dispose()


def citizen_app_books_and_reads_results(
    http: httpx.Client, system: dict[str, Any], person: dict[str, Any]
) -> None:
    """What the demo's citizen token is for: $find, $book and $cancel, and reading a result
    the hospital pushed; writing a result is refused."""
    citizen = {"Authorization": f"Bearer {person['access_token']}"}
    # From the day after tomorrow: the appointment is cancellable (until 24 hours before it)
    # whatever the time of day the test runs at.
    first_day = datetime.now(UTC).date() + timedelta(days=2)
    window = {"start": str(first_day), "end": str(first_day + timedelta(days=14))}
    found = http.get("/Appointment/$find", params=window, headers=citizen)
    assert found.status_code == 200, found.text
    proposal = found.json()["entry"][0]["resource"]
    slot = proposal["slot"][0]["reference"]
    booked = http.post("/Appointment/$book", json=inputs(slot=slot), headers=citizen)
    assert booked.status_code == 200, booked.text
    appointment = booked.json()["entry"][0]["resource"]
    cancelled = http.post(
        f"/Appointment/{appointment['id']}/$cancel", json=inputs(reason="ill"), headers=citizen
    )
    assert cancelled.status_code == 200, cancelled.text
    hospital = {"Authorization": f"Bearer {system['access_token']}"}
    subject = f"Patient?identifier={SYSTEM}|pat-mei"
    entry = {"resource": observation(subject), "request": {"method": "POST", "url": "Observation"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    pushed = http.post("", json=bundle, headers=hospital)
    assert pushed.status_code == 200, pushed.text
    result_id = pushed.json()["entry"][0]["response"]["location"].split("Observation/")[1]
    result_id = result_id.split("/")[0]
    result = http.get(f"/Observation/{result_id}", headers=citizen)
    assert result.status_code == 200, result.text
    changed = http.put(
        f"/Observation/{result_id}",
        json={**result.json(), "status": "cancelled"},
        headers=citizen,
    )
    assert changed.status_code == 403, changed.text


def inputs(**values: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": k, "valueString": v} for k, v in values.items()],
    }
