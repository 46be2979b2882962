"""Which reports a person has opened in the app, so the list can mark the others "new"."""

from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from medsvc.web.tables import WebSeenResult

SEEN = WebSeenResult.__table__  # type: ignore[attr-defined]


def seen_among(connection: Connection, fhir_user: str, resources: list[str]) -> set[str]:
    if not resources:
        return set()
    query = select(SEEN.c.resource).where(
        SEEN.c.fhir_user == fhir_user, SEEN.c.resource.in_(resources)
    )
    return set(connection.execute(query).scalars())


def mark_seen(connection: Connection, fhir_user: str, resource: str, now: datetime) -> None:
    """Once per person and report; a second opening (or two at once) changes nothing."""
    if seen_among(connection, fhir_user, [resource]):
        return
    try:
        with connection.begin_nested():
            connection.execute(
                insert(SEEN).values(fhir_user=fhir_user, resource=resource, seen_at=now)
            )
    except IntegrityError:
        pass
