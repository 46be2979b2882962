"""The search index as read-only SQL for read filters and for domain queries the database must
answer: the resource table, the index tables, and conditions over them (references in either
direction, tokens in search syntax, a one-row probe). What writes the index is the engine's
alone (indexing.py)."""

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    literal,
    or_,
    select,
    true,
)

from medsvc.fhir.search.values import token_value
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


# What a condition may name as targets: one id, several, a CTE of ids, or a column of the
# enclosing query (which correlates the condition to each of its rows).
Ids = str | list[str] | tuple[str, ...] | CTE | ColumnElement[Any]


def ids_match(column: Any, ids: Ids) -> ColumnElement[bool]:
    """column = id, column among the ids, or among the first column of a CTE of ids."""
    if isinstance(ids, CTE):
        return column.in_(select(ids.c[0]))  # type: ignore[no-any-return]
    if isinstance(ids, list | tuple):
        return column.in_(ids)  # type: ignore[no-any-return]
    return column == ids  # type: ignore[no-any-return]


def referring(
    resource_type: str,
    params: tuple[str, ...],
    target_type: str,
    ids: Ids,
    rows: FromClause = REFERENCE,
) -> Select[Any]:
    """The pks of resources of a type whose params point at the given targets. rows is an
    alias of REFERENCE where the caller adds conditions on the referring resource's pk."""
    return select(rows.c.resource_pk).where(
        rows.c.resource_type == resource_type,
        rows.c.param.in_(params),
        rows.c.target_type == target_type,
        ids_match(rows.c.target_id, ids),
    )


def referred(
    resource_pk: Any, param: str, target_type: str, rows: FromClause = REFERENCE
) -> Select[Any]:
    """The ids of the targets of a type that a resource's param points at. rows is an alias
    of REFERENCE where the caller adds conditions on rows.c.target_id."""
    return select(rows.c.target_id).where(
        rows.c.resource_pk == resource_pk,
        rows.c.param == param,
        rows.c.target_type == target_type,
    )


def token_match(columns: Any, raw: str) -> ColumnElement[bool]:
    """A token in search syntax matches: code, system|code, |code (no system) or system|
    (any code of the system)."""
    token = token_value(raw)
    conditions = []
    if token.code is not None:
        conditions.append(columns.code == token.code)
    if token.system == "":
        conditions.append(columns.system.is_(None))
    elif token.system is not None:
        conditions.append(columns.system == token.system)
    return and_(*conditions) if conditions else true()


def tokens_match(rows: FromClause, tokens: Iterable[str]) -> ColumnElement[bool]:
    """Any of the tokens matches a row."""
    return or_(*(token_match(rows.c, raw) for raw in tokens))


def coded(resource_type: str, param: str, tokens: Iterable[str]) -> Select[Any]:
    """The pks of resources of a type with one of the tokens for param."""
    return select(TOKEN.c.resource_pk).where(
        TOKEN.c.resource_type == resource_type, TOKEN.c.param == param, tokens_match(TOKEN, tokens)
    )


def has_token(resource_pk: Any, param: str, tokens: Iterable[str]) -> ColumnElement[bool]:
    """EXISTS: the resource of the pk (a column of the enclosing query) has one of the tokens."""
    row = TOKEN.alias()
    return (
        select(row.c.pk)
        .where(row.c.resource_pk == resource_pk, row.c.param == param, tokens_match(row, tokens))
        .exists()
    )


def probe(
    table: Table, resource_pk: Any, param: str, match: Callable[[Any], ColumnElement[bool]]
) -> ColumnElement[bool]:
    """The resource has a value of param that matches: a probe of the (resource_pk, param, ...)
    index for one row. As a scalar subquery it runs for each row it is asked about, where
    PostgreSQL would turn an EXISTS into a hash of every matching row of the table: the
    shape for a scan over most of a type's resources. Each probe has its own alias, so none
    correlates to another."""
    row = table.alias()
    found = (
        select(literal(1))
        .where(row.c.resource_pk == resource_pk, row.c.param == param, match(row.c))
        .limit(1)
        .scalar_subquery()
    )
    return found.is_not(None)
