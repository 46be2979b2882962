"""The versioned store read back through the driver and through SQLAlchemy, on both databases."""

import threading

from sqlalchemy import select, true

from medsvc.assembly import fhir_server
from medsvc.fhir import jsonio, store
from medsvc.fhir.indexing import replace_index
from medsvc.fhir.store import Stored
from medsvc.fhir.tables import INDEX_TABLES
from tests.conftest import Backend


def write_patient(backend: Backend, resource_id: str) -> Stored:
    server = fhir_server(backend.settings)
    definition = server.definition("Patient", "create")
    resource = {"resourceType": "Patient", "active": True, "name": [{"family": "Émilie"}]}
    with backend.database.session(write=True) as session:
        return store.insert_resource(
            session, server.sealer, definition, resource_id, resource, "http://x/fhir"
        )


def test_read_by_driver_gives_what_sqlalchemy_gives(clean: Backend) -> None:
    written = write_patient(clean, "driver-1")
    with clean.database.session(write=False) as session:
        by_driver = store.read_current(session, None, "Patient", "driver-1")
        by_sqlalchemy = store.read_current(session, None, "Patient", "driver-1", visible=true())
        missing = store.read_current(session, None, "Patient", "driver-2")
    assert by_driver == by_sqlalchemy == written
    assert isinstance(by_driver, Stored)
    assert isinstance(by_driver.content, bytes)
    assert by_driver.last_updated.utcoffset() is not None
    assert missing is None


def test_a_read_sees_a_write_committed_after_the_previous_read(clean: Backend) -> None:
    with clean.database.session(write=False) as session:
        assert store.read_current(session, None, "Patient", "later") is None
    write_patient(clean, "later")
    with clean.database.session(write=False) as session:
        found = store.read_current(session, None, "Patient", "later")
    assert found is not None
    assert found.version_id == 1


def test_reads_in_parallel_threads_each_find_the_resource(clean: Backend) -> None:
    write_patient(clean, "shared")
    found: list[Stored | None] = []

    def read() -> None:
        for _ in range(50):
            with clean.database.session(write=False) as session:
                found.append(store.read_current(session, None, "Patient", "shared"))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 300
    assert all(f is not None and f.id == "shared" for f in found)


def test_read_many_gives_the_current_rows_not_deleted(clean: Backend) -> None:
    first, second, gone = (write_patient(clean, f"many-{n}") for n in range(3))
    definition = fhir_server(clean.settings).definition("Patient", "delete")
    with clean.database.session(write=True) as session:
        store.add_version(session, None, definition, gone, None, "DELETE", "http://x/fhir")
    with clean.database.session(write=False) as session:
        found = store.read_many(session, None, [second.pk, first.pk, gone.pk, 10**9])
        by_sqlalchemy = [
            store.read_current(session, None, "Patient", s.id, visible=true())
            for s in (first, second)
        ]
        assert store.read_many(session, None, []) == {}
    assert found == {first.pk: first, second.pk: second}
    assert by_sqlalchemy == [first, second]


def stored_index(backend: Backend, pk: int) -> list[tuple[object, ...]]:
    """Every index row of the resource, from every index table, in one order."""
    rows: list[tuple[object, ...]] = []
    with backend.database.session(write=False) as session:
        for kind, model in INDEX_TABLES.items():
            table = model.__table__  # type: ignore[attr-defined]
            values = [c for c in table.c if c.name not in ("pk", "resource_pk")]
            found = session.execute(select(*values).where(table.c.resource_pk == pk)).all()
            rows += [(kind, *(str(v) for v in row)) for row in found]
    return sorted(rows)


def fresh_index(backend: Backend, pk: int) -> list[tuple[object, ...]]:
    """The rows a fresh indexing of the current content gives, written to an empty copy."""
    definition = fhir_server(backend.settings).definition("Patient", "create")
    with backend.database.session(write=True) as session:
        current = store.read_current(session, None, "Patient", "indexed", visible=true())
        assert current is not None
        assert current.content is not None
        content = jsonio.loads_stored(current.content)
        replace_index(session, definition, pk, content, "http://x/fhir", existing=True)
    return stored_index(backend, pk)


PATIENT_VERSIONS = [
    {"name": [{"family": "Virtanen", "given": ["Aino"]}], "gender": "female"},
    {"name": [{"family": "Virtanen", "given": ["Aino"]}], "gender": "other"},  # one token
    {"name": [{"family": "Korhonen"}], "gender": "other", "birthDate": "1980-02-03"},
    {"gender": "other", "birthDate": "1980-02-03", "identifier": [{"system": "s", "value": "1"}]},
    {"name": [{"family": "Virtanen"}]},  # elements removed, one back
]


def test_an_update_leaves_the_index_a_fresh_indexing_would_write(clean: Backend) -> None:
    """Updates rewrite only the parameters whose rows change; after each, the resource's
    index rows are exactly those of its current content, none stale and none missing."""
    server = fhir_server(clean.settings)
    definition = server.definition("Patient", "update")
    with clean.database.session(write=True) as session:
        current = store.insert_resource(
            session,
            server.sealer,
            definition,
            "indexed",
            {"resourceType": "Patient"},
            "http://x/fhir",
        )
    for elements in PATIENT_VERSIONS:
        with clean.database.session(write=True) as session:
            current = store.add_version(
                session,
                server.sealer,
                definition,
                current,
                {"resourceType": "Patient", **elements},
                "PUT",
                "http://x/fhir",
            )
        after_update = stored_index(clean, current.pk)
        assert after_update == fresh_index(clean, current.pk)
        assert any(row[2] == "_lastUpdated" for row in after_update)
    with clean.database.session(write=True) as session:
        deleted = store.add_version(
            session, server.sealer, definition, current, None, "DELETE", "http://x/fhir"
        )
    assert stored_index(clean, current.pk) == []
    with clean.database.session(write=True) as session:
        store.add_version(
            session,
            server.sealer,
            definition,
            deleted,
            {"resourceType": "Patient", **PATIENT_VERSIONS[0]},
            "PUT",
            "http://x/fhir",
        )
    assert stored_index(clean, current.pk) == fresh_index(clean, current.pk)
