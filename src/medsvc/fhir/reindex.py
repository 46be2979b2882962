"""Rewrites the search index of stored resources from their current content, batch by batch:
after a release changes what a type's parameters index (codes become blind index tokens),
the resources written before it are indexed as new ones would be. Versions of a sealed type
stored before it was sealed are sealed on the way, every version of them."""

from typing import Any

from sqlalchemy import Connection, false, select, update

from medsvc.fhir import jsonio, sealing
from medsvc.fhir.definitions import ResourceDefinition
from medsvc.fhir.indexing import replace_index
from medsvc.fhir.sealing import Sealer
from medsvc.fhir.server import FhirServer
from medsvc.fhir.store import RESOURCE
from medsvc.fhir.tables import ResourceVersion

R = RESOURCE.c
VERSION = ResourceVersion.__table__  # type: ignore[attr-defined]
V = VERSION.c
BATCH = 500


def reindex_batch(
    server: FhirServer, session: Connection, resource_type: str, after_pk: int, batch: int = BATCH
) -> list[int]:
    """Reindexes up to batch current resources of the type with a key above after_pk, in key
    order, and returns their keys (none: the type is done). Run in a transaction per batch,
    a run stopped anywhere goes on from the last key done."""
    definition = server.definition(resource_type, "read")
    rows = session.execute(
        select(R.pk, R.id, R.version_id, R.content)
        .where(R.resource_type == resource_type, R.pk > after_pk, R.deleted == false())
        .order_by(R.pk)
        .limit(batch)
    ).all()
    for row in rows:
        content = jsonio.loads_stored(_current_json(session, server.sealer, definition, row))
        replace_index(session, definition, row.pk, content, server.base_url, existing=True)
    return [row.pk for row in rows]


def _current_json(
    session: Connection, sealer: Sealer | None, definition: ResourceDefinition, row: Any
) -> bytes:
    stored = bytes(row.content)
    place = sealing.Place(definition.type, row.id, row.version_id)
    if not definition.sealed or sealing.is_sealed(stored):
        return sealing.opened(session, sealer, place, stored)
    sealed_now = _seal_versions(session, sealer, definition, row.pk)
    session.execute(
        update(RESOURCE).where(R.pk == row.pk).values(content=sealed_now[row.version_id])
    )
    return stored


def _seal_versions(
    session: Connection, sealer: Sealer | None, definition: ResourceDefinition, resource_pk: int
) -> dict[int, bytes]:
    """Seals the resource's versions stored in plaintext; returns every version's sealed bytes."""
    rows = session.execute(
        select(V.pk, V.id, V.version_id, V.content).where(
            V.resource_pk == resource_pk, V.content.is_not(None)
        )
    ).all()
    sealed: dict[int, bytes] = {}
    for row in rows:
        content = bytes(row.content)
        if sealing.is_sealed(content):
            sealed[row.version_id] = content
            continue
        place = sealing.Place(definition.type, row.id, row.version_id)
        resource = jsonio.loads_stored(content)
        sealed[row.version_id] = sealing.seal(session, sealer, definition, place, resource, content)
        session.execute(
            update(VERSION).where(V.pk == row.pk).values(content=sealed[row.version_id])
        )
    return sealed
