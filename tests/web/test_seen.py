"""The reports a person has opened, on both databases: found among a list given as one
parameter, whatever its length or the characters of its references, and never another
person's."""

import uuid
from datetime import UTC, datetime

from medsvc.web import seen
from tests.conftest import Backend

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def test_the_opened_reports_are_found_among_a_list_and_only_the_persons_own(
    backend: Backend,
) -> None:
    me, other = f"Patient/{uuid.uuid4()}", f"Patient/{uuid.uuid4()}"
    listed = [f"DiagnosticReport/r-{n}" for n in range(60)] + ['DiagnosticReport/a"b,c\\d']
    with backend.database.session(write=True) as connection:
        for resource in (listed[0], listed[59], listed[60]):
            seen.mark_seen(connection, me, resource, NOW)
        seen.mark_seen(connection, me, listed[0], NOW)  # a second opening changes nothing
        seen.mark_seen(connection, other, listed[1], NOW)
    with backend.database.session(write=False) as connection:
        assert seen.seen_among(connection, me, listed) == {listed[0], listed[59], listed[60]}
        assert seen.seen_among(connection, me, [listed[1]]) == set()
        assert seen.seen_among(connection, other, listed) == {listed[1]}
        assert seen.seen_among(connection, me, []) == set()
