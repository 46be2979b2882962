"""Compiles search criteria into SQL over the index tables, narrowed to what the caller may see.

Each criterion becomes `resource.pk IN (SELECT resource_pk FROM <index> WHERE ...)`, which
both databases drive from the index; ANDed criteria intersect, ORed values share a subquery.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from medsvc import clock
from medsvc.errors import Invalid
from medsvc.fhir import references
from medsvc.fhir.datetimes import MAX_BOUND, to_micros
from medsvc.fhir.index import token_match
from medsvc.fhir.indexing import normalize
from medsvc.fhir.search import values as v
from medsvc.fhir.search.params import Criterion, unescape
from medsvc.fhir.search.windows import find_window
from medsvc.fhir.tables import INDEX_TABLES, ResourceRow

Columns = ReadOnlyColumnCollection[str, ColumnElement[Any]]
Visible = Callable[[str, FromClause], ColumnElement[bool] | None]
RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _range_match(prefix: str, low: Any, high: Any, s: v.Ranged) -> ColumnElement[bool]:
    """A stored range [low, high] against a search range, per the prefix (search.html#prefix)."""
    contains = and_(low >= s.low, high <= s.high)
    if prefix == "eq":
        return contains
    if prefix == "ne":
        return ~contains
    if prefix in ("gt", "sa"):
        return and_(high > s.high if prefix == "gt" else low > s.high)
    if prefix in ("lt", "eb"):
        return and_(low < s.low if prefix == "lt" else high < s.low)
    if prefix == "ge":
        return or_(high > s.high, contains)
    if prefix == "le":
        return or_(low < s.low, contains)
    margin = abs(s.point) * 0.1 if prefix == "ap" else 0
    return and_(low <= s.high + margin, high >= s.low - margin)


def _date_match(table: Columns, raw: str) -> ColumnElement[bool]:
    s = v.date_value(raw)
    if s.prefix == "ap":  # approximately: 10% of the distance from now (search.html#prefix)
        margin = abs(to_micros(clock.now()) - s.low) * 0.1
        return and_(table.low <= s.high + margin, table.high >= s.low - margin)
    return _range_match(s.prefix, table.low, table.high, s)


def _number_match(column: Any, s: v.Ranged) -> ColumnElement[bool]:
    return _range_match(s.prefix, column, column, s)


def _string_match(table: Columns, raw: str, modifier: str | None) -> ColumnElement[bool]:
    text = unescape(raw)
    if modifier == "exact":
        return table.value_exact == text
    pattern = _like_escape(normalize(text))
    pattern = f"%{pattern}%" if modifier == "contains" else f"{pattern}%"
    return table.value_norm.like(pattern, escape="\\")


def _quantity_match(table: Columns, raw: str) -> ColumnElement[bool]:
    q = v.quantity_value(raw)
    conditions = [_number_match(table.value, q.number)]
    if q.system:
        conditions.append(table.system == q.system)
    if q.code:
        conditions.append(
            table.code == q.code if q.system else or_(table.code == q.code, table.unit == q.code)
        )
    return and_(*conditions)


class Compiler:
    """Compiles the criteria of one search for one caller."""

    def __init__(self, base_url: str, visible: Visible):
        self.base_url = base_url
        self.visible = visible

    def where(
        self, resource_type: str, criteria: list[Criterion], resource: FromClause = RESOURCE
    ) -> list[ColumnElement[bool]]:
        """Conditions on the resource table: one criterion drives, the others are probed.

        The driver, the most selective-looking criterion, becomes `pk IN (...)`, which both
        databases run first; each other criterion is a correlated EXISTS checked on the
        driver's rows through the (resource_pk, param) index.
        """
        driver = _driver(criteria)
        conditions = [resource.c.deleted == false()]
        if driver is None or driver.param is None:
            conditions.append(resource.c.resource_type == resource_type)
        narrowed = self.visible(resource_type, resource)
        if narrowed is not None:
            conditions.append(narrowed)
        window = find_window(criteria)
        if window is not None and not _outranks_window(driver):
            conditions.append(resource.c.pk.in_(window.rows(resource_type, _date_match)))
            criteria = [c for c in criteria if c not in window.covered]
            driver = None
        conditions += [
            self.criterion(resource_type, c, resource, correlated=c is not driver) for c in criteria
        ]
        return conditions

    def criterion(
        self, resource_type: str, c: Criterion, resource: FromClause, *, correlated: bool
    ) -> ColumnElement[bool]:
        if c.param is None:  # _id
            return resource.c.id.in_([unescape(x) for x in c.values])
        if c.chain is not None:
            return self._membership(self._chain(resource_type, c), resource, correlated)
        table = INDEX_TABLES[c.param.type].__table__  # type: ignore[attr-defined]
        rows = select(table.c.resource_pk).where(table.c.param == c.param.code)
        if not correlated:  # a probe goes by (resource_pk, param); the type would mislead it
            rows = rows.where(table.c.resource_type == resource_type)
        if c.modifier == "missing":
            if c.values[0] not in ("true", "false"):
                raise Invalid(f"{c.param.code}:missing takes true or false")
            present = self._membership(rows, resource, correlated)
            return ~present if c.values[0] == "true" else present
        matched = rows.where(or_(*[self._value(table.c, c, raw) for raw in c.values]))
        found = self._membership(matched, resource, correlated)
        return ~found if c.modifier == "not" else found

    @staticmethod
    def _membership(
        rows: Select[Any], resource: FromClause, correlated: bool
    ) -> ColumnElement[bool]:
        """resource.pk among the rows' first column, as IN (driver) or correlated EXISTS."""
        if not correlated:
            return resource.c.pk.in_(rows)
        pk_column = rows.selected_columns[0]
        return exists(rows.where(pk_column == resource.c.pk))

    def _value(self, table: Columns, c: Criterion, raw: str) -> ColumnElement[bool]:
        assert c.param is not None
        kind = c.param.type
        if raw == "":
            raise Invalid(f"The parameter '{c.param.code}' has an empty value")
        if kind == "token":
            blinder = c.param.blinder
            return token_match(table, blinder.query_value(raw) if blinder is not None else raw)
        if kind == "string":
            return _string_match(table, raw, c.modifier)
        if kind == "date":
            return _date_match(table, raw)
        if kind == "number":
            return _number_match(table.value, v.number_value(raw))
        if kind == "quantity":
            return _quantity_match(table, raw)
        if kind == "uri":
            return table.value == unescape(raw)
        return self._reference_match(table, c, unescape(raw))

    def _reference_match(self, table: Columns, c: Criterion, raw: str) -> ColumnElement[bool]:
        assert c.param is not None
        if c.modifier == "identifier":
            token = v.token_value(raw)
            conditions = [table.identifier_value == token.code]
            if token.system:
                conditions.append(table.identifier_system == token.system)
            return and_(*conditions)
        if references.ID_PATTERN.fullmatch(raw):  # a bare id, of the param's target types
            types = [c.modifier] if c.modifier else list(c.param.targets)
            condition = table.target_id == raw
            return and_(condition, table.target_type.in_(types)) if types else condition
        try:
            parsed = references.parse(raw, self.base_url)
        except references.BadReference as error:
            raise Invalid(error.diagnostics, expression=c.param.code) from error
        if parsed.target is None:
            return table.url == raw
        if c.modifier and c.modifier != parsed.target.type:
            return false()
        return and_(table.target_type == parsed.target.type, table.target_id == parsed.target.id)

    def _chain(self, resource_type: str, c: Criterion) -> Select[Any]:
        """The pks of resources whose reference leads to a target meeting the chained
        criterion (search.html#chaining); that criterion may be a chain again, one nested
        subquery per link.

        Every level joins its own anonymous aliases. SQLAlchemy correlates a subquery's FROM
        with an enclosing query's FROM of the same table: over the bare search_reference, a
        probe of the target's own references (`actor:missing`) would be tied to this level's
        row instead. And with one alias name at every level, a condition meant for an outer
        level's target would resolve, in SQL, to the innermost one.
        """
        assert c.param is not None
        assert c.chain is not None
        ref = INDEX_TABLES["reference"].__table__.alias()  # type: ignore[attr-defined]
        target = RESOURCE.alias()
        by_type = [
            and_(*self.where(target_type, [inner], target))
            for target_type, inner in c.chain.target_criteria
        ]
        return (
            select(ref.c.resource_pk)
            .join(
                target,
                and_(target.c.resource_type == ref.c.target_type, target.c.id == ref.c.target_id),
            )
            .where(ref.c.resource_type == resource_type, ref.c.param == c.param.code, or_(*by_type))
        )


_SELECTIVE = {
    "reference": 0,
    "token": 1,
    "uri": 2,
    "string": 3,
    "quantity": 4,
    "number": 5,
    "date": 6,
}


def _outranks_window(driver: Criterion | None) -> bool:
    """An _id or a plain reference (one schedule's slots) finds fewer rows than a window of
    time; a token (status=free, a specialty) usually more."""
    if driver is None:
        return False
    return driver.param is None or (driver.param.type == "reference" and driver.chain is None)


def _driver(criteria: list[Criterion]) -> Criterion | None:
    """The criterion most likely to match fewest rows: an equality on a reference or token."""
    positive = [c for c in criteria if c.modifier not in ("not", "missing")]
    if not positive:
        return None
    return min(
        positive,
        key=lambda c: (
            -1 if c.param is None else _SELECTIVE[c.param.type] - (0.5 if c.chain is None else 0)
        ),
    )


def sort_key(key: Any, descending: bool, matches: Columns) -> list[Any]:
    """ORDER BY terms for one _sort key over the matches' pk and id columns: the lowest
    value ascending, the highest descending, resources without a value last."""
    if key == "_id":
        return [matches.id.desc() if descending else matches.id]
    table = INDEX_TABLES[key.type].__table__  # type: ignore[attr-defined]
    column = {
        "token": table.c.get("code"),
        "string": table.c.get("value_norm"),
        "reference": table.c.get("target_id"),
        "uri": table.c.get("value"),
    }.get(key.type)
    if key.type == "date":
        column = table.c.high if descending else table.c.low
    elif column is None:
        column = table.c.value
    aggregate = func.max(column) if descending else func.min(column)
    value: Any = (
        select(aggregate)
        .where(table.c.resource_pk == matches.pk, table.c.param == key.code)
        .scalar_subquery()
    )
    if key.type == "date":
        value = func.nullif(value, MAX_BOUND) if descending else value
    return [value.is_(None), value.desc() if descending else value]
