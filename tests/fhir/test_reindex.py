"""medsvc db reindex: resources indexed before their codes became blind index tokens are
indexed as new ones, batch by batch, so that searches find them and no code is left; versions
stored before their type was sealed are sealed."""

import json
from pathlib import Path

import httpx
from sqlalchemy import select

from medsvc.fhir import store
from medsvc.fhir.definitions import get_definitions
from medsvc.fhir.tables import ResourceRow, ResourceVersion, SearchToken
from tests.cli.test_main import medsvc
from tests.conftest import KEYS, Backend
from tests.factories import observation
from tests.fhir.test_blinding import found


def written_before_blinding(backend: Backend, resource_id: str, code: str) -> None:
    """An Observation as a release without blind index tokens stored it: codes in the index."""
    definition = get_definitions().resources["Observation"]
    resource = observation("Patient/p1", code=code)
    with backend.database.session(write=True) as session:
        store.insert_resource(
            session, None, definition, resource_id, resource, backend.settings.base_url
        )


def index_codes(backend: Backend) -> set[str]:
    table = SearchToken.__table__  # type: ignore[attr-defined]
    with backend.database.session(write=False) as session:
        query = select(table.c.code).where(table.c.param == "code")
        return {str(code) for code in session.execute(query).scalars()}


def stored_contents(backend: Backend) -> list[bytes]:
    tables = (ResourceRow.__table__, ResourceVersion.__table__)  # type: ignore[attr-defined]
    with backend.database.session(write=False) as session:
        return [
            bytes(content)
            for table in tables
            for content in session.execute(
                select(table.c.content).where(table.c.resource_type == "Observation")
            ).scalars()
        ]


def reindex(backend: Backend, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEYS_DIR": KEYS.name}
    result = medsvc("db", "reindex", *args, cwd=tmp_path, env=env)
    return result.returncode, result.stdout, result.stderr


def test_reindex_blinds_what_was_indexed_before(
    client: httpx.Client, clean: Backend, tmp_path: Path
) -> None:
    for n, code in enumerate(("2160-0", "718-7", "2345-7")):
        written_before_blinding(clean, f"old-{n}", code)
    assert "2160-0" in index_codes(clean)
    assert all(b"2160-0" in c or b"718-7" in c or b"2345-7" in c for c in stored_contents(clean))
    assert found(client, code="2160-0") == set()
    status, out, err = reindex(clean, tmp_path, "--type", "Observation", "--batch", "2")
    assert status == 0, err
    assert json.loads(out) == {"reindexed": {"Observation": 3}}
    assert found(client, code="2160-0") == {"old-0"}
    assert found(client, code="http://loinc.org|2345-7") == {"old-2"}
    assert not {"2160-0", "718-7", "2345-7"} & index_codes(clean)
    contents = stored_contents(clean)
    assert len(contents) == 6  # three current rows, three versions
    assert all(c[:1] == b"\x01" and b"loinc" not in c for c in contents)
    read = client.get("/Observation/old-1")
    assert read.status_code == 200, read.text
    assert read.json()["code"]["coding"][0]["code"] == "718-7"


def test_reindex_refuses_an_unknown_type(clean: Backend, tmp_path: Path) -> None:
    status, out, err = reindex(clean, tmp_path, "--type", "Nonsense")
    assert (status, out) == (2, "")
    assert "Nonsense" in err
