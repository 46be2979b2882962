"""Rewrites the search index of stored resources from their current content, batch by batch:
after a release changes what a type's parameters index (codes become blind index tokens),
the resources written before it are indexed as new ones would be."""

from sqlalchemy import Connection, false, select

from medsvc.fhir import jsonio
from medsvc.fhir.indexing import replace_index
from medsvc.fhir.server import FhirServer
from medsvc.fhir.stored import RESOURCE

R = RESOURCE.c
BATCH = 500


def reindex_batch(
    server: FhirServer, session: Connection, resource_type: str, after_pk: int, batch: int = BATCH
) -> list[int]:
    """Reindexes up to batch current resources of the type with a key above after_pk, in key
    order, and returns their keys (none: the type is done). Run in a transaction per batch,
    a run stopped anywhere goes on from the last key done."""
    definition = server.definition(resource_type, "read")
    rows = session.execute(
        select(R.pk, R.content)
        .where(R.resource_type == resource_type, R.pk > after_pk, R.deleted == false())
        .order_by(R.pk)
        .limit(batch)
    ).all()
    for row in rows:
        content = jsonio.loads_stored(row.content)
        replace_index(session, definition, row.pk, content, server.base_url, existing=True)
    return [row.pk for row in rows]
