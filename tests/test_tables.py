"""The schema is one metadata: the migrations make its tables and no other, and the tests'
reset empties every one of them."""

import httpx
from sqlalchemy import inspect, text

from medsvc.tables import all_tables
from tests.conftest import TABLES, Backend
from tests.factories import FHIR_JSON, patient


def counts(backend: Backend) -> dict[str, int]:
    with backend.database.session(write=False) as session:
        return {
            name: session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in inspect(session).get_table_names()
            if name != "alembic_version"
        }


def test_the_migrations_make_the_tables_of_the_metadata(backend: Backend) -> None:
    with backend.database.session(write=False) as session:
        migrated = set(inspect(session).get_table_names()) - {"alembic_version"}
    assert migrated == set(all_tables().tables) == set(TABLES)


def test_the_reset_empties_every_table(client: httpx.Client, clean: Backend) -> None:
    assert client.post("/Patient", json=patient(), headers=FHIR_JSON).status_code == 201
    assert counts(clean)["resource"] > 0
    clean.reset()
    assert {name for name, count in counts(clean).items() if count} == set()
