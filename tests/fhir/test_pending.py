"""Rows held in a batched block: written when it ends or on flush, dropped if it raises."""

import pytest
from sqlalchemy import func, insert, select

from medsvc.fhir import pending
from medsvc.fhir.tables import ConditionalKey
from tests.conftest import Backend

TABLE = ConditionalKey.__table__  # type: ignore[attr-defined]


def rows(n: int, start: int = 0) -> list[dict[str, object]]:
    return [{"resource_type": "Patient", "query_hash": f"h{i}"} for i in range(start, start + n)]


def stored(backend: Backend) -> int:
    with backend.database.session(write=False) as session:
        return int(session.execute(select(func.count()).select_from(TABLE)).scalar_one())


def test_rows_wait_until_the_block_ends_or_a_flush(clean: Backend) -> None:
    statement = insert(TABLE)
    with clean.database.session(write=True) as session, pending.batched(session):
        pending.insert(session, statement, rows(3))
        count = select(func.count()).select_from(TABLE)
        assert session.execute(count).scalar_one() == 0
        pending.flush(session)
        assert session.execute(count).scalar_one() == 3
        pending.insert(session, statement, rows(2, start=3))
    assert stored(clean) == 5


def fail_in_a_batched_block(backend: Backend) -> None:
    with backend.database.session(write=True) as session, pending.batched(session):
        pending.insert(session, insert(TABLE), rows(3))
        raise RuntimeError("entry failed")


def test_rows_of_a_failed_block_are_never_written(clean: Backend) -> None:
    with pytest.raises(RuntimeError, match="entry failed"):
        fail_in_a_batched_block(clean)
    with clean.database.session(write=True) as session:
        pending.insert(session, insert(TABLE), rows(1))  # no block: written at once
        assert "medsvc.pending_rows" not in session.info
    assert stored(clean) == 1
