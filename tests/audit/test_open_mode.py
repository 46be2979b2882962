"""An app built in sign-in mode and switched to open mode afterwards (as a local trial or the
benchmarks' launcher does) records no access: the audit reads the mode per request."""

import httpx
from sqlalchemy import func, select

from medsvc.app import create_app
from medsvc.audit import trail as audit_trail
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir.index import RESOURCE
from medsvc.kit import migrate
from tests.conftest import LiveServer, free_port

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _audit_events(database: Database) -> int:
    with database.session(write=False) as session:
        query = select(func.count()).where(RESOURCE.c.resource_type == "AuditEvent")
        return int(session.execute(query).scalar_one())


def _create_and_read(url: str) -> None:
    created = httpx.post(f"{url}/fhir/Patient", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    assert created.status_code == 201
    read = httpx.get(f"{url}/fhir/Patient/{created.json()['id']}")
    assert read.status_code == 200


def test_a_switch_to_open_mode_after_start_records_nothing(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/switched.db"
    migrate.upgrade(url)
    port = free_port()
    settings = Settings(database_url=url, base_url=f"http://127.0.0.1:{port}/fhir")
    database = Database(settings)
    app = create_app(settings, database)
    app.state.settings = settings.model_copy(update={"auth_mode": "open"})
    with LiveServer(app, port) as server:
        _create_and_read(server.url)
        audit_trail.flush_all()
        assert _audit_events(database) == 0
        # Back in sign-in mode, the same app records what a caller is refused.
        app.state.settings = settings
        refused = httpx.get(f"{server.url}/fhir/Patient")
        assert refused.status_code == 401
        audit_trail.flush_all()
        assert _audit_events(database) == 1
    database.dispose()
