"""A time window (`start=ge…&start=lt…`) on a single-instant search parameter, such as
Slot.start or Appointment.date, read as one range of the date index.

Each bound alone matches most rows (every slot after a day, or before it); together, on a
parameter a resource has at most one instant of, they are one range scan of the index's
(resource_type, param, low) columns, which can drive the whole search.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select

from medsvc.fhir.search import values as v
from medsvc.fhir.search.params import Criterion
from medsvc.fhir.tables import INDEX_TABLES

LOWER, UPPER = ("ge", "gt", "sa"), ("lt", "le", "eb")
# An instant is stored with the range of its precision, which is under a second wide: a
# value at or after X has its low end no earlier than a second before X.
SECOND = 1_000_000


@dataclass(frozen=True)
class Window:
    lower: Criterion
    upper: Criterion

    @property
    def covered(self) -> tuple[Criterion, Criterion]:
        return self.lower, self.upper

    def rows(self, resource_type: str, match: Any) -> Select[Any]:
        """The resource_pks whose instant lies in the window: the index range, then both
        criteria checked exactly on the same row (`match(table_columns, raw)`)."""
        assert self.lower.param is not None
        table = INDEX_TABLES["date"].__table__  # type: ignore[attr-defined]
        low = v.date_value(self.lower.values[0]).low
        high = v.date_value(self.upper.values[0]).high
        return select(table.c.resource_pk).where(
            table.c.resource_type == resource_type,
            table.c.param == self.lower.param.code,
            table.c.low >= low - SECOND,
            table.c.low <= high,
            and_(match(table.c, self.lower.values[0]), match(table.c, self.upper.values[0])),
        )


def _side(c: Criterion) -> str | None:
    if c.param is None or not c.param.instant or c.chain or c.modifier or len(c.values) != 1:
        return None
    prefix = v.date_value(c.values[0]).prefix
    return "lower" if prefix in LOWER else "upper" if prefix in UPPER else None


def find_window(criteria: list[Criterion]) -> Window | None:
    """The first parameter with both a lower and an upper bound among the criteria."""
    bounds: dict[str, dict[str, Criterion]] = {}
    for c in criteria:
        side = _side(c)
        if side is None:
            continue
        assert c.param is not None
        sides = bounds.setdefault(c.param.code, {})
        sides.setdefault(side, c)
        if len(sides) == 2:
            return Window(sides["lower"], sides["upper"])
    return None
