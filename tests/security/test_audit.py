"""The audit trail: a BALP-shaped AuditEvent for every access to patient data, allowed or
denied, kept even when the request's own work is rolled back; append-only, hash-chained, and
verified by `medsvc audit verify`, which catches altered, removed and reordered records."""

import base64
import json
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
from fastapi import Request
from fhir.resources.R4B.auditevent import AuditEvent
from sqlalchemy import exc, select, text

from medsvc.app import create_app
from medsvc.audit import trail as audit_trail
from medsvc.audit.tables import AuditChain
from medsvc.fhir.blinding import ANY_SYSTEM
from medsvc.fhir.tables import ResourceRow, SearchToken
from medsvc.security.context import AuthContext, auth_context
from tests.cli.test_main import medsvc
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.factories import FHIR_JSON, observation, patient

CHAIN = AuditChain.__table__  # type: ignore[attr-defined]
RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
ADMIN = AuthContext(
    subject="acct-ops", client_id="console", role="admin", scopes=frozenset({"user/AuditEvent.rs"})
)


def events(client: httpx.Client, **params: str) -> list[dict]:
    """The AuditEvents as the platform reads them, oldest first."""
    audit_trail.flush_all()
    bundle = client.get("/AuditEvent", params={"_count": "1000", **params}).json()
    return [e["resource"] for e in bundle.get("entry", [])]


def by_request(client: httpx.Client, request_id: str) -> dict:
    found = [
        e
        for e in events(client)
        if any(
            n.get("what", {}).get("identifier", {}).get("value") == request_id for n in e["entity"]
        )
    ]
    assert len(found) == 1, request_id
    return found[0]


def entity_refs(event: dict) -> set[str]:
    return {n["what"]["reference"] for n in event["entity"] if "reference" in n.get("what", {})}


@pytest.fixture
def records(client: httpx.Client) -> dict[str, str]:
    ids = {}
    for name, resource in (("A", patient("1", "Aalto")), ("B", patient("2", "Berg"))):
        ids[name] = client.post("/Patient", json=resource, headers=FHIR_JSON).json()["id"]
    for name, subject in (("obA", "A"), ("obB", "B")):
        made = client.post(
            "/Observation", json=observation(f"Patient/{ids[subject]}"), headers=FHIR_JSON
        )
        ids[name] = made.json()["id"]
    return ids


def citizen(ids: dict[str, str]) -> AuthContext:
    return AuthContext(
        subject="acct-a",
        client_id="phone-app",
        patient=f"Patient/{ids['A']}",
        scopes=frozenset({"patient/*.cruds"}),
    )


def test_a_read_is_recorded_in_the_balp_shape(
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    client: httpx.Client,
) -> None:
    http = acting_as(citizen(records))
    read = http.get(f"/Observation/{records['obA']}")
    assert read.status_code == 200
    event = by_request(client, read.headers["x-request-id"])
    AuditEvent.model_validate(event)  # a valid R4B AuditEvent
    assert event["type"]["code"] == "rest"
    assert (event["subtype"][0]["code"], event["action"], event["outcome"]) == ("read", "R", "0")
    assert entity_refs(event) == {f"Patient/{records['A']}", f"Observation/{records['obA']}"}
    client_agent, server_agent, user_agent = event["agent"]
    assert client_agent["who"]["identifier"]["value"] == "phone-app"
    assert (client_agent["requestor"], user_agent["requestor"]) == (False, True)
    assert user_agent["who"]["reference"] == f"Patient/{records['A']}"
    assert server_agent["who"]["display"].endswith("/fhir")


def indexed_tokens(backend: Backend, resource_type: str, param: str) -> set[str]:
    table = SearchToken.__table__  # type: ignore[attr-defined]
    with backend.database.session(write=False) as session:
        return set(
            session.execute(
                select(table.c.code).where(
                    table.c.resource_type == resource_type, table.c.param == param
                )
            ).scalars()
        )


def test_a_search_records_its_query_never_its_results(
    clean: Backend,
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    client: httpx.Client,
) -> None:
    http = acting_as(citizen(records))
    found = http.get("/Observation", params={"code": "2160-0"})
    event = by_request(client, found.headers["x-request-id"])
    assert (event["subtype"][0]["code"], event["action"]) == ("search-type", "E")
    query = next(n for n in event["entity"] if n.get("role", {}).get("code") == "24")
    recorded = parse_qsl(base64.b64decode(query["query"]).decode())
    # The code searched for is kept as the token the index holds for it, never as the code.
    assert [(name, value.split("|")[0]) for name, value in recorded] == [("code", ANY_SYSTEM)]
    (token,) = [value.split("|")[1] for _name, value in recorded]
    assert token in indexed_tokens(clean, "Observation", "code")
    assert "2160-0" not in str(event)
    assert entity_refs(event) == {f"Patient/{records['A']}"}
    assert records["obA"] not in str(event)


def test_denied_and_unauthenticated_accesses_are_recorded(
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    client: httpx.Client,
    smart_server: object,
) -> None:
    http = acting_as(citizen(records))
    hidden = http.get(f"/Observation/{records['obB']}")
    assert hidden.status_code == 404
    event = by_request(client, hidden.headers["x-request-id"])
    assert event["outcome"] == "4"
    assert f"Observation/{records['obB']}" in entity_refs(event)
    assert f"Patient/{records['B']}" not in entity_refs(event)  # nothing learnt of the record
    anonymous = httpx.get(f"{smart_server.url}/fhir/Observation/{records['obA']}")  # type: ignore[attr-defined]
    assert anonymous.status_code == 401
    unknown = by_request(client, anonymous.headers["x-request-id"])
    assert unknown["outcome"] == "4"
    assert unknown["agent"][0]["who"]["identifier"]["value"] == "unknown"


def test_a_rolled_back_transaction_keeps_its_audit(
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    client: httpx.Client,
) -> None:
    http = acting_as(citizen(records))
    before = client.get("/Observation", params={"_summary": "count"}).json()["total"]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": observation(f"Patient/{records['A']}"),
                "request": {"method": "POST", "url": "Observation"},
            },
            {
                "resource": observation(f"Patient/{records['B']}"),
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    failed = http.post("/", json=bundle, headers=FHIR_JSON)
    assert failed.status_code == 403
    assert client.get("/Observation", params={"_summary": "count"}).json()["total"] == before
    event = by_request(client, failed.headers["x-request-id"])
    assert (event["subtype"][0]["code"], event["outcome"]) == ("transaction", "4")


def recorded_without_waiting(backend: Backend, request_id: str) -> bool:
    """Whether the request's AuditEvent is stored already, with no flush of the trail."""
    query = select(RESOURCE.c.content).where(RESOURCE.c.resource_type == "AuditEvent")
    with backend.database.session(write=False) as connection:
        stored = connection.execute(query).scalars().all()
    return any(request_id.encode() in content for content in stored)


def test_a_change_is_answered_once_its_record_is_stored(
    records: dict[str, str], acting_as: Callable[[AuthContext], httpx.Client], clean: Backend
) -> None:
    http = acting_as(citizen(records))
    own = http.get(f"/Patient/{records['A']}").json()
    phone = [{"system": "phone", "value": "+358 40 765 4321"}]
    changed = http.put(
        f"/Patient/{records['A']}", json={**own, "telecom": phone}, headers=FHIR_JSON
    )
    assert changed.status_code == 200, changed.text
    assert recorded_without_waiting(clean, changed.headers["x-request-id"])


def test_administrators_search_the_trail_and_others_cannot(
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    client: httpx.Client,
) -> None:
    acting_as(citizen(records)).get(f"/Patient/{records['A']}")
    audit_trail.flush_all()
    admin = acting_as(ADMIN)
    found = admin.get("/AuditEvent", params={"patient": f"Patient/{records['A']}"}).json()
    assert found["total"] >= 1
    assert admin.get(f"/Patient/{records['A']}").status_code == 403  # the trail, not the records
    assert acting_as(citizen(records)).get("/AuditEvent").json()["total"] == 0
    assert admin.post("/AuditEvent", json={}, headers=FHIR_JSON).status_code == 405


def test_parallel_requests_leave_one_whole_chain(
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    clean: Backend,
    tmp_path: Path,
) -> None:
    http = acting_as(citizen(records))

    def read_many() -> None:
        with httpx.Client(base_url=str(http.base_url)) as own:
            for _ in range(10):
                own.get(f"/Observation/{records['obA']}")
                own.post(
                    "/Observation", json=observation(f"Patient/{records['A']}"), headers=FHIR_JSON
                )

    threads = [threading.Thread(target=read_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = verify(clean, tmp_path)
    assert report["whole"] is True
    assert report["records"] >= 160


def verify(backend: Backend, tmp_path: Path) -> dict:
    audit_trail.flush_all()
    result = medsvc("audit", "verify", cwd=tmp_path, env={"MEDSVC_DATABASE_URL": backend.url})
    assert result.stdout, result.stderr
    report = dict(json.loads(result.stdout))
    assert result.returncode == (0 if report["whole"] else 1), result.stderr
    return report


def test_the_trail_refuses_changes(records: dict[str, str], clean: Backend) -> None:
    audit_trail.flush_all()
    for statement in (
        "UPDATE audit_chain SET hash = 'x'",
        "DELETE FROM audit_chain",
        "UPDATE resource SET content = NULL WHERE resource_type = 'AuditEvent'",
        "DELETE FROM resource_version WHERE resource_type = 'AuditEvent'",
    ):
        with pytest.raises(exc.DBAPIError), clean.database.session(write=True) as connection:
            connection.execute(text(statement))


def tamper(backend: Backend, *statements: str) -> None:
    """Changes the trail as someone with the database's own privileges could."""
    with backend.database.writer.begin() as connection:
        if backend.name == "postgresql":
            for table in ("audit_chain", "resource", "resource_version"):
                connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        triggers = []
        if backend.name == "sqlite":  # dropped for the change, then made again as they were
            triggers = connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
            ).all()
            for name, _sql in triggers:
                connection.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            connection.execute(text(statement))
        if backend.name == "postgresql":
            for table in ("audit_chain", "resource", "resource_version"):
                connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        for _name, sql in triggers:
            connection.execute(text(sql))


def chain(backend: Backend) -> list[tuple[int, int, str, str]]:
    query = select(CHAIN.c.seq, CHAIN.c.resource_pk, CHAIN.c.previous, CHAIN.c.hash)
    with backend.database.session(write=False) as connection:
        return [tuple(r) for r in connection.execute(query.order_by(CHAIN.c.seq))]


def damage_statements(backend: Backend, damage: str) -> list[str]:
    (seq1, pk1, previous1, hash1), (seq2, _pk2, previous2, hash2) = chain(backend)[1:3]
    if damage == "altered":
        content = "content" if backend.name == "sqlite" else "convert_from(content, 'UTF8')"
        changed = f"replace({content}, 'rest', 'Rest')"
        if backend.name == "postgresql":
            changed = f"convert_to({changed}, 'UTF8')"
        return [f"UPDATE resource SET content = {changed} WHERE pk = {pk1}"]
    if damage == "removed":
        return [f"DELETE FROM audit_chain WHERE seq = {seq1}"]
    if damage == "reordered":  # the two records' places in the chain exchanged
        return [
            f"UPDATE audit_chain SET previous = '{previous2}', hash = '{hash2}' WHERE seq = {seq1}",
            f"UPDATE audit_chain SET previous = '{previous1}', hash = '{hash1}' WHERE seq = {seq2}",
        ]
    return [  # an AuditEvent slipped in beside the chain
        "INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content) "
        f"SELECT resource_type, 'forged', 1, last_updated, deleted, content FROM resource "
        f"WHERE pk = {pk1}"
    ]


@pytest.mark.parametrize("damage", ["altered", "removed", "reordered", "added"])
def test_verify_catches_tampering(
    records: dict[str, str], clean: Backend, tmp_path: Path, damage: str
) -> None:
    assert verify(clean, tmp_path)["whole"] is True
    assert len(chain(clean)) >= 4
    tamper(clean, *damage_statements(clean, damage))
    report = verify(clean, tmp_path)
    assert report["whole"] is False
    assert report["problems"], report


def test_a_backlogged_trail_makes_reads_wait_for_their_record(
    records: dict[str, str], clean: Backend
) -> None:
    port = free_port()
    settings = make_settings(clean.url, port, audit_max_backlog=0)  # always backlogged
    app = create_app(settings, clean.database)
    ctx = citizen(records)

    async def provide(_request: Request) -> AuthContext:
        return ctx

    app.dependency_overrides[auth_context] = provide
    with LiveServer(app, port) as server, httpx.Client(base_url=server.url + "/fhir") as http:
        read = http.get(f"/Observation/{records['obA']}")
        assert read.status_code == 200
        assert recorded_without_waiting(clean, read.headers["x-request-id"])


@pytest.mark.parametrize("name", ["x%20y", "%C3%BCber", "a" * 65, "-lead", "Patient", "x.y"])
def test_an_operation_is_named_in_its_record_and_a_hostile_name_is_not_repeated(
    records: dict[str, str],
    acting_as: Callable[[AuthContext], httpx.Client],
    client: httpx.Client,
    name: str,
) -> None:
    http = acting_as(citizen(records))
    asked = http.get(f"/Patient/{records['A']}/$waiting-results")
    assert asked.status_code == 200, asked.text
    event = by_request(client, asked.headers["x-request-id"])
    assert event["subtype"][1] == {"system": "urn:medsvc:operation", "code": "waiting-results"}
    odd = http.get(f"/Patient/{records['A']}/${name}")
    assert 400 <= odd.status_code < 500
    recorded = by_request(client, odd.headers["x-request-id"])
    AuditEvent.model_validate(recorded)  # still a valid AuditEvent
    expected = "unknown" if name != "Patient" else "Patient"
    assert recorded["subtype"][1] == {"system": "urn:medsvc:operation", "code": expected}
