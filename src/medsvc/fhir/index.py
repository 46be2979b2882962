"""The search index as read-only SQL for read filters and for domain queries the database must
answer: the resource table, aliases of the index tables, and the resources that refer to
given targets by a parameter. What writes the index is the engine's alone (indexing.py)."""

from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, Table, select

from medsvc.fhir.tables import (
    ResourceRow,
    ResourceVersion,
    SearchDate,
    SearchReference,
    SearchString,
    SearchToken,
)

# Columns: pk, resource_type, id, version_id, last_updated, deleted, owner, content.
RESOURCE: Table = ResourceRow.__table__  # type: ignore[attr-defined]
# Every version: resource_pk, resource_type, id, version_id, last_updated, deleted, content.
RESOURCE_VERSION: Table = ResourceVersion.__table__  # type: ignore[attr-defined]
# Index rows share resource_pk, resource_type and param; then a reference's target_type and
# target_id, a token's system and code, a date's low and high, a string's value.
REFERENCE: Table = SearchReference.__table__  # type: ignore[attr-defined]
TOKEN: Table = SearchToken.__table__  # type: ignore[attr-defined]
DATE: Table = SearchDate.__table__  # type: ignore[attr-defined]
STRING: Table = SearchString.__table__  # type: ignore[attr-defined]


def ids_match(column: Any, ids: str | CTE) -> ColumnElement[bool]:
    """column = id, or column among the first column of a CTE of ids."""
    matched: ColumnElement[bool] = (
        column.in_(select(ids.c[0])) if isinstance(ids, CTE) else column == ids
    )
    return matched


def referring(
    resource_type: str, params: tuple[str, ...], target_type: str, ids: str | CTE
) -> Select[Any]:
    """The pks of resources of a type whose params point at the given targets."""
    targets = ids_match(REFERENCE.c.target_id, ids)
    return select(REFERENCE.c.resource_pk).where(
        REFERENCE.c.resource_type == resource_type,
        REFERENCE.c.param.in_(params),
        REFERENCE.c.target_type == target_type,
        targets,
    )
