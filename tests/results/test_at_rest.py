"""Results at rest: a dump of the database holds none of a corpus' values, every version is
sealed, a ciphertext moved to another row, patient or version (or one flipped byte) fails
closed, and erasing a patient leaves nothing of theirs that opens, on both databases."""

import base64
import getpass
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from medsvc.app import fhir_server
from medsvc.cli import patients as cli_patients
from medsvc.crypto import envelope
from medsvc.crypto.envelope import SealBroken
from medsvc.crypto.keyring import FileKeyring
from medsvc.fhir import store
from medsvc.fhir.sealing import NoSealer, Place
from medsvc.fhir.tables import ResourceRow, ResourceVersion
from medsvc.results.at_rest import Binding, ResultSealer
from tests.cli.test_main import medsvc
from tests.conftest import KEYS, Backend
from tests.factories import FHIR_JSON, REPORT_ESSENTIALS, observation, patient
from tests.fhir.test_search import post
from tests.security.test_audit import entity_refs, events, verify

RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]
VERSION = ResourceVersion.__table__  # type: ignore[attr-defined]
MARKERS = {
    "value": "MARKER-VALUE-7f3a9c",
    "conclusion": "MARKER-CONCLUSION-2b8e41",
    "pdf": "MARKER-PDF-d5c07e",
    "corrected": "MARKER-CORRECTED-91ad6f",
}
PDF = b"%PDF-1.4\n1 0 obj << /Title (" + MARKERS["pdf"].encode() + b") >> endobj\n%%EOF\n"


def results_of(national_id: str) -> dict[str, Any]:
    """A transaction Bundle: a report with a string and a quantity result, a PDF of it."""
    subject = {"reference": f"Patient?identifier=urn:oid:1.2.246.21|{national_id}"}
    text = {**observation("", code="5778-6"), "subject": subject}
    del text["valueQuantity"]
    text["valueString"] = MARKERS["value"]
    quantity = {**observation("", code="2345-7", value=6.123457), "subject": subject}
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": subject,
        "result": [{"reference": "urn:uuid:o-text"}, {"reference": "urn:uuid:o-quantity"}],
        "conclusion": MARKERS["conclusion"],
        **REPORT_ESSENTIALS,
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": subject,
        "data": base64.b64encode(PDF).decode(),
    }
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": subject,
        "content": [{"attachment": {"contentType": "application/pdf", "url": "urn:uuid:pdf"}}],
    }
    entries = [
        ("urn:uuid:o-text", text),
        ("urn:uuid:o-quantity", quantity),
        ("urn:uuid:report", report),
        ("urn:uuid:pdf", binary),
        ("urn:uuid:document", document),
    ]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": url, "resource": r, "request": {"method": "POST", "url": r["resourceType"]}}
            for url, r in entries
        ],
    }


def pushed(client: httpx.Client, national_id: str) -> dict[str, str]:
    """Pushes a patient's results; returns the ids by fullUrl of the Bundle."""
    post(client, patient(national_id))
    bundle = results_of(national_id)
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    locations = [e["response"]["location"] for e in response.json()["entry"]]
    ids = [location.split("/_history")[0].rsplit("/", 1)[1] for location in locations]
    return {e["fullUrl"]: i for e, i in zip(bundle["entry"], ids, strict=True)}


def corrected(client: httpx.Client, observation_id: str) -> None:
    current = client.get(f"/Observation/{observation_id}").json()
    current["valueString"], current["status"] = MARKERS["corrected"], "corrected"
    response = client.put(f"/Observation/{observation_id}", json=current, headers=FHIR_JSON)
    assert response.status_code == 200, response.text


def dump(backend: Backend) -> bytes:
    """What a thief of the database gets: the SQLite files' bytes, or pg_dump's output."""
    url = make_url(backend.url)
    if backend.name == "sqlite":
        # Read by another process: closing a file this process has open would drop the
        # locks its SQLite connections hold on it (POSIX advisory locks are per process).
        files = [str(url.database), f"{url.database}-wal"]
        present = [f for f in files if Path(f).exists()]
        return subprocess.run(["cat", *present], capture_output=True, check=True).stdout
    command = ["pg_dump", "-h", str(url.host), "-p", str(url.port or 5432), "-U", str(url.username)]
    done = subprocess.run([*command, str(url.database)], capture_output=True, check=True)
    return done.stdout


@given(
    key_id=st.text(st.characters(max_codepoint=127), min_size=1, max_size=40),
    patient_id=st.text(max_size=70),
    resource_type=st.text(max_size=30),
    resource_id=st.text(max_size=70),
    version_id=st.integers(min_value=1, max_value=2**40),
)
def test_a_binding_makes_the_associated_data_of_the_place(
    key_id: str, patient_id: str, resource_type: str, resource_id: str, version_id: int
) -> None:
    # The records sealed before Binding existed open only if the bytes are the same, quotes,
    # backslashes and other characters to escape included.
    place = Place(resource_type, resource_id, version_id)
    context = {
        "patient": patient_id,
        "type": resource_type,
        "id": resource_id,
        "version": str(version_id),
    }
    assert Binding(key_id, patient_id).of(place) == envelope.associated(key_id, context)


def test_a_dump_holds_none_of_the_values_and_the_api_gives_them_back(
    client: httpx.Client, clean: Backend
) -> None:
    ids = pushed(client, "110190-111A")
    corrected(client, ids["urn:uuid:o-text"])
    # A search by code is audited with its query: the code goes into the trail as its token.
    searched = client.get("/Observation", params={"code": "http://loinc.org|5778-6"})
    assert [e["resource"]["id"] for e in searched.json()["entry"]] == [ids["urn:uuid:o-text"]]
    searches = [e for e in events(client) if e["subtype"][0]["code"] == "search-type"]
    queries = [base64.b64decode(n["query"]) for e in searches for n in e["entity"] if "query" in n]
    assert queries
    assert not any(b"5778-6" in query or b"loinc" in query for query in queries)
    everything = dump(clean)
    assert b"110190-111A" in everything  # the dump is a real one: the Patient is not sealed
    for marker in MARKERS.values():
        assert marker.encode() not in everything
    assert base64.b64encode(PDF) not in everything
    assert b"5778-6" not in everything
    assert b"6.123457" not in everything
    text = client.get(f"/Observation/{ids['urn:uuid:o-text']}").json()
    assert text["valueString"] == MARKERS["corrected"]
    first = client.get(f"/Observation/{ids['urn:uuid:o-text']}/_history/1").json()
    assert first["valueString"] == MARKERS["value"]
    report = client.get(f"/DiagnosticReport/{ids['urn:uuid:report']}").json()
    assert report["conclusion"] == MARKERS["conclusion"]
    pdf = client.get(f"/Binary/{ids['urn:uuid:pdf']}", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200, pdf.text
    assert pdf.content == PDF


def stored_rows(backend: Backend, table: Any) -> list[Any]:
    with backend.database.session(write=False) as session:
        query = select(table.c.resource_type, table.c.id, table.c.version_id, table.c.content)
        return list(session.execute(query.where(table.c.content.is_not(None))).all())


def test_every_version_of_every_result_is_sealed(client: httpx.Client, clean: Backend) -> None:
    ids = pushed(client, "120190-222B")
    corrected(client, ids["urn:uuid:o-text"])
    sealed_types = {"Observation", "DiagnosticReport", "Binary", "DocumentReference"}
    for table in (RESOURCE, VERSION):
        rows = [r for r in stored_rows(clean, table) if r.resource_type in sealed_types]
        assert {r.resource_type for r in rows} == sealed_types
        assert all(bytes(r.content)[:1] == b"\x01" for r in rows)
    versions = [r for r in stored_rows(clean, VERSION) if r.id == ids["urn:uuid:o-text"]]
    assert sorted(r.version_id for r in versions) == [1, 2]
    patients = [r for r in stored_rows(clean, RESOURCE) if r.resource_type == "Patient"]
    assert all(bytes(r.content)[:1] == b"{" for r in patients)  # what is not a result is not


def put_content(backend: Backend, table: Any, where: dict[str, Any], content: bytes) -> None:
    with backend.database.session(write=True) as session:
        conditions = [table.c[k] == v for k, v in where.items()]
        assert session.execute(update(table).where(*conditions).values(content=content)).rowcount


def content_of(backend: Backend, table: Any, **where: Any) -> bytes:
    rows = [
        r for r in stored_rows(backend, table) if all(getattr(r, k) == v for k, v in where.items())
    ]
    assert len(rows) == 1
    return bytes(rows[0].content)


def fails_closed(response: httpx.Response) -> None:
    assert response.status_code == 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert not any(m in response.text for m in MARKERS.values())


@pytest.mark.parametrize("move", ["other-row", "other-patient", "other-version", "flipped-byte"])
def test_a_moved_or_changed_ciphertext_fails_closed(
    client: httpx.Client, clean: Backend, move: str
) -> None:
    mine, theirs = pushed(client, "130190-333C"), pushed(client, "140190-444D")
    corrected(client, mine["urn:uuid:o-text"])
    text, number = mine["urn:uuid:o-text"], mine["urn:uuid:o-quantity"]
    target = theirs["urn:uuid:o-text"] if move == "other-patient" else number
    if move == "other-version":  # version 1's bytes as the current version 2
        content = content_of(clean, VERSION, id=text, version_id=1)
        target = text
    elif move == "flipped-byte":
        content = bytearray(content_of(clean, RESOURCE, id=text))
        content[-20] ^= 0x01
        content, target = bytes(content), text
    else:
        content = content_of(clean, RESOURCE, id=text)
    put_content(clean, RESOURCE, {"resource_type": "Observation", "id": target}, content)
    fails_closed(client.get(f"/Observation/{target}"))
    found = client.get("/Observation", params={"_id": target})
    fails_closed(found)
    owner = theirs if move == "other-patient" else mine  # the broken one opened among others
    report = {"_id": owner["urn:uuid:report"], "_include": "DiagnosticReport:result"}
    fails_closed(client.get("/DiagnosticReport", params=report))
    untouched = theirs["urn:uuid:o-quantity"]
    assert client.get(f"/Observation/{untouched}").status_code == 200


def test_a_search_of_several_patients_opens_each_record_under_its_own_key(
    clean: Backend,
) -> None:
    sealer = ResultSealer(FileKeyring(Path(KEYS.name) / "kek"), clean.settings.base_url)
    owners = ["p-a", "p-b", "p-a", "p-a", "p-b"]  # runs under one key, then another, in turn
    places = [Place("Observation", f"o-{n}", 1) for n in range(len(owners))]
    with clean.database.session(write=True) as session:
        sealed = [
            (
                place,
                sealer.seal(
                    session,
                    place,
                    {"subject": {"reference": f"Patient/{owner}"}},
                    owner.encode() + place.id.encode(),
                ),
            )
            for owner, place in zip(owners, places, strict=True)
        ]
    with clean.database.session(write=False) as session:
        opened = sealer.open_all(session, sealed)
        assert opened == [
            owner.encode() + place.id.encode() for owner, place in zip(owners, places, strict=True)
        ]
        # p-b's record moved to the place of one of p-a's does not open, nor does the search.
        with pytest.raises(SealBroken):
            sealer.open_all(session, [sealed[2], (sealed[3][0], sealed[4][1]), sealed[0]])


def test_the_database_alone_neither_opens_nor_seals_a_result(
    client: httpx.Client, clean: Backend
) -> None:
    """The sealer is the server's, not the database's: a unit of work on the service's own
    database, given no sealer, opens no result and stores none in plaintext."""
    text = pushed(client, "190190-999J")["urn:uuid:o-text"]
    definition = fhir_server(clean.settings).definition("Observation", "create")
    with clean.database.session(write=False) as session, pytest.raises(SealBroken):
        store.read_current(session, None, "Observation", text)
    resource = observation("Patient/p1")
    with clean.database.session(write=True) as session, pytest.raises(NoSealer):
        store.insert_resource(session, None, definition, "o-1", resource, clean.settings.base_url)


def test_a_changed_history_version_fails_closed(client: httpx.Client, clean: Backend) -> None:
    ids = pushed(client, "150190-555E")
    corrected(client, ids["urn:uuid:o-text"])
    text = ids["urn:uuid:o-text"]
    version_two = content_of(clean, VERSION, id=text, version_id=2)
    where = {"resource_type": "Observation", "id": text, "version_id": 1}
    put_content(clean, VERSION, where, version_two)
    fails_closed(client.get(f"/Observation/{text}/_history/1"))
    fails_closed(client.get(f"/Observation/{text}/_history"))
    assert client.get(f"/Observation/{text}").json()["valueString"] == MARKERS["corrected"]


def erase(backend: Backend, cwd: Path, reference: str) -> dict[str, Any]:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEYS_DIR": KEYS.name}
    result = medsvc("patients", "erase", reference, cwd=cwd, env=env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_erase_leaves_nothing_of_the_patient_that_opens(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    gone, kept = pushed(client, "160190-666F"), pushed(client, "170190-777G")
    corrected(client, gone["urn:uuid:o-text"])
    copied = [r for r in stored_rows(clean, VERSION) if r.id in gone.values()]
    patient_id = client.get("/Patient", params={"identifier": "160190-666F"}).json()
    reference = f"Patient/{patient_id['entry'][0]['resource']['id']}"
    report = erase(clean, tmp_path, reference)
    assert report == {
        "patient": reference,
        "data_key_destroyed": True,
        "deleted": {"Observation": 2, "DiagnosticReport": 1, "Binary": 1, "DocumentReference": 1},
    }
    for url, resource_id in gone.items():
        kind = url.removeprefix("urn:uuid:")
        resource_type = {
            "report": "DiagnosticReport",
            "pdf": "Binary",
            "document": "DocumentReference",
        }.get(kind, "Observation")
        assert client.get(f"/{resource_type}/{resource_id}").status_code == 404
    assert not [r for r in stored_rows(clean, VERSION) if r.id in gone.values()]
    sealer = ResultSealer(FileKeyring(Path(KEYS.name) / "kek"), clean.settings.base_url)
    with clean.database.session(write=False) as session:
        for row in copied:
            place = Place(row.resource_type, row.id, row.version_id)
            with pytest.raises(SealBroken):
                sealer.open_all(session, [(place, bytes(row.content))])
    assert client.get(f"/DiagnosticReport/{kept['urn:uuid:report']}").status_code == 200
    assert erase(clean, tmp_path, reference)["data_key_destroyed"] is False


def test_an_erasure_is_recorded_in_the_audit_trail(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    pushed(client, "180190-888H")
    found = client.get("/Patient", params={"identifier": "180190-888H"}).json()
    reference = f"Patient/{found['entry'][0]['resource']['id']}"
    erase(clean, tmp_path, reference)
    erase(clean, tmp_path, reference)  # nothing left to erase: nothing more recorded
    erasures = [e for e in events(client) if e["subtype"][0]["code"] == "delete"]
    assert len(erasures) == 1
    event = erasures[0]
    assert (event["action"], event["outcome"]) == ("D", "0")
    assert entity_refs(event) == {reference}
    who = [agent["who"] for agent in event["agent"]]
    assert {"identifier": {"system": "urn:medsvc:client", "value": "medsvc-command"}} in who
    assert {"identifier": {"value": f"os-user:{getpass.getuser()}"}} in who
    assert verify(clean, tmp_path)["whole"] is True


def test_an_operator_without_a_login_name_is_recorded_by_uid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_name() -> str:
        raise KeyError("getpwuid(): uid not found")  # as in a container with an arbitrary uid

    monkeypatch.setattr(getpass, "getuser", no_name)
    assert cli_patients._erasure("p-1").ctx.subject == f"os-user:uid-{os.getuid()}"


def test_erase_refuses_what_is_not_a_patient_reference(clean: Backend, tmp_path: Path) -> None:
    env = {"MEDSVC_DATABASE_URL": clean.url, "MEDSVC_KEYS_DIR": KEYS.name}
    result = medsvc("patients", "erase", "Observation/1", cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert "Patient/ID" in result.stderr


@pytest.mark.parametrize("document_first", [True, False])
def test_a_pdf_sealed_under_the_patient_of_its_document_reference(
    client: httpx.Client, clean: Backend, document_first: bool
) -> None:
    """The usual Binary names its DocumentReference (binary.html): the patient is the
    document's subject, which must be written before the Binary."""
    post(client, patient("180190-888H"))
    bundle = results_of("180190-888H")
    entries = {e["fullUrl"]: e for e in bundle["entry"]}
    binary, document = entries["urn:uuid:pdf"], entries["urn:uuid:document"]
    binary["resource"]["securityContext"] = {"reference": "urn:uuid:document"}
    ordered = [document, binary] if document_first else [binary, document]
    bundle["entry"] = [e for e in bundle["entry"] if e not in (binary, document)] + ordered
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    if not document_first:
        assert response.status_code == 422, response.text
        expression = response.json()["issue"][0]["expression"]
        assert expression == ["Bundle.entry[3].resource.securityContext"]
        assert client.get("/DiagnosticReport").json()["total"] == 0  # nothing of the Bundle
        return
    assert response.status_code == 200, response.text
    location = response.json()["entry"][4]["response"]["location"]
    pdf = client.get(location.split("/_history")[0], headers={"Accept": "application/pdf"})
    assert pdf.content == PDF


def test_reads_in_flight_stay_whole_while_keys_rotate_and_rewrap(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    reports = [pushed(client, f"19{n:04d}-999J")["urn:uuid:report"] for n in range(6)]
    env = {"MEDSVC_DATABASE_URL": clean.url, "MEDSVC_KEYS_DIR": KEYS.name}
    stop, answers = threading.Event(), []

    def read_until_stopped() -> None:
        while not stop.is_set():
            for report_id in reports:
                response = client.get(f"/DiagnosticReport/{report_id}")
                answers.append((response.status_code, response.json().get("conclusion")))

    readers = [threading.Thread(target=read_until_stopped) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        for _ in range(2):
            for command in (("keys", "rotate"), ("keys", "rewrap", "--batch", "1")):
                done = medsvc(*command, cwd=tmp_path, env=env)
                assert done.returncode == 0, done.stderr
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert len(answers) >= len(reports)
    assert set(answers) == {(200, MARKERS["conclusion"])}
    status = medsvc("keys", "status", cwd=tmp_path, env=env)
    keks = json.loads(status.stdout)["keks"]
    assert keks[-1]["data_keys"] == 6
    assert sum(k["data_keys"] for k in keks) == 6


def test_a_20_mb_pdf_travels_in_a_push_and_comes_back_whole(
    client: httpx.Client, clean: Backend
) -> None:
    """The largest report a lab sends: 20 MB of PDF, base64 in the Bundle (about 27 MB)."""
    post(client, patient("200190-000K"))
    bundle = results_of("200190-000K")
    large = PDF + os.urandom(20_000_000 - len(PDF))
    binary = next(e for e in bundle["entry"] if e["fullUrl"] == "urn:uuid:pdf")
    binary["resource"]["data"] = base64.b64encode(large).decode()
    response = client.post("/", json=bundle, headers=FHIR_JSON, timeout=120)
    assert response.status_code == 200, response.text[:500]
    location = response.json()["entry"][3]["response"]["location"].split("/_history")[0]
    read = client.get(location, headers={"Accept": "application/pdf"}, timeout=120)
    assert read.status_code == 200
    assert read.content == large
    sealed = content_of(clean, VERSION, id=location.rsplit("/", 1)[1], version_id=1)
    assert sealed[:1] == b"\x01"
    assert large[:4096] not in sealed
