"""Parses a search query string into criteria and result parameters (search.html).

Repeated parameters are ANDed, comma-separated values ORed. Unknown parameters are ignored
and left out of the self link, or refused when the client asks for strict handling. An
unsupported modifier is always refused: ignoring it would widen the result.
"""

import re
from dataclasses import dataclass, field

from medsvc.errors import Invalid
from medsvc.fhir.definitions import Definitions, SearchParam
from medsvc.fhir.limits import Limits, check_search, check_values
from medsvc.fhir.numbers import natural

RESULT_PARAMS = (
    "_count",
    "_sort",
    "_include",
    "_revinclude",
    "_elements",
    "_summary",
    "_total",
    "_cursor",
)
IGNORED_PARAMS = ("_format", "_pretty")
MODIFIERS = {
    "token": {"not", "missing"},
    "string": {"exact", "contains", "missing"},
    "date": {"missing"},
    "reference": {"identifier", "missing"},
    "quantity": {"missing"},
    "number": {"missing"},
    "uri": {"missing"},
}
# Each '.' of a chained parameter follows one reference (search.html#chaining):
# Slot?schedule.actor:Location.organization.name=City has three. Every link is one more
# nested subquery, so the depth is bounded rather than left to the client.
MAX_CHAIN_LINKS = 4


@dataclass(frozen=True)
class Criterion:
    """One search parameter as used in a query: its values are ORed."""

    param: SearchParam | None  # None for _id, which is answered from the resource table
    modifier: str | None
    values: tuple[str, ...]
    chain: "Chain | None" = None


@dataclass(frozen=True)
class Chain:
    """A chained reference such as schedule.actor: per target type, the criterion its
    resources must meet, which may itself be a chain (schedule.actor:Location.organization)."""

    target_criteria: tuple[tuple[str, Criterion], ...]


@dataclass(frozen=True)
class Include:
    source_type: str
    param: SearchParam
    target_type: str | None
    iterate: bool


@dataclass
class SearchRequest:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    applied: list[tuple[str, str]] = field(default_factory=list)
    count: int = 20
    offset: int = 0
    snapshot: int | None = None
    sort: list[tuple[SearchParam | str, bool]] = field(default_factory=list)
    include: list[Include] = field(default_factory=list)
    revinclude: list[Include] = field(default_factory=list)
    elements: list[str] | None = None
    summary_count: bool = False
    total: bool = True


# One value: escaped characters (a trailing backslash stands for itself) up to a bare comma.
_VALUE = re.compile(r"(?:[^,\\]|\\.|\\\Z)*", re.S)


def split_values(value: str, most: int | None = None) -> tuple[str, ...]:
    """Splits at unescaped commas; backslash escapes are kept for the type parsers. Given
    `most`, stops once it has found one value more than that."""
    parts: list[str] = []
    position = 0
    while most is None or len(parts) <= most:
        match = _VALUE.match(value, position)
        assert match is not None  # the pattern matches the empty string
        parts.append(match.group())
        position = match.end() + 1  # past the comma that ended the value
        if position > len(value):
            break
    return tuple(parts)


def unescape(value: str) -> str:
    return value.replace("\\,", ",").replace("\\$", "$").replace("\\|", "|").replace("\\\\", "\\")


def parse_count(value: str, maximum: int) -> int:
    count = natural(value)
    if count is None:
        raise Invalid(f"_count must be a non-negative integer, not '{value[:40]}'")
    return min(count, maximum)


def parse_cursor(value: str) -> tuple[int, int]:
    """The paging cursor of a next/previous link: offset and the snapshot it pages through."""
    offset_text, _, snapshot_text = value.partition(".")
    offset, snapshot = natural(offset_text), natural(snapshot_text)
    if offset is None or snapshot is None:
        raise Invalid("The paging cursor is not valid; follow the Bundle's links")
    return offset, snapshot


class QueryParser:
    """Parses one query for one resource type; strict mode refuses what it does not know."""

    def __init__(
        self,
        definitions: Definitions,
        resource_type: str,
        *,
        strict: bool,
        default_count: int,
        max_count: int,
        limits: Limits | None = None,
    ):
        self.definitions = definitions
        self.request = SearchRequest(resource_type, count=default_count)
        self.strict = strict
        self.max_count = max_count
        self.limits = limits or Limits()

    def parse(self, pairs: list[tuple[str, str]]) -> SearchRequest:
        check_search(pairs, self.limits)
        for name, value in pairs:
            base = name.split(":", 1)[0]
            if base in RESULT_PARAMS:
                self._result_param(base, name, value)
            elif base not in IGNORED_PARAMS:
                self._criterion(name, value)
        return self.request

    def _unknown(self, message: str) -> None:
        if self.strict:
            raise Invalid(message)

    def _param(self, resource_type: str, code: str) -> SearchParam | None:
        definition = self.definitions.resource(resource_type)
        return definition.params.get(code) if definition else None

    def _criterion(self, name: str, value: str) -> None:
        criterion = self.criterion(self.request.resource_type, name, value)
        if criterion is not None:
            self.request.criteria.append(criterion)
            self.request.applied.append((name, value))

    def criterion(self, resource_type: str, name: str, value: str) -> Criterion | None:
        head, dot, tail = name.partition(".")
        code, _, modifier = head.partition(":")
        if code == "_id":
            if modifier or dot:
                raise Invalid(f"The parameter _id takes no modifier or chain: '{name}'")
            return Criterion(None, None, self._values(name, value))
        param = self._param(resource_type, code)
        if param is None:
            self._unknown(f"Unknown search parameter '{code}' for {resource_type}")
            return None
        if dot:
            return self._chain(resource_type, param, modifier or None, tail, value)
        self._check_modifier(param, modifier or None, name)
        return Criterion(param, modifier or None, self._values(name, value))

    def _values(self, name: str, value: str) -> tuple[str, ...]:
        return check_values(name, split_values(value, self.limits.max_search_values), self.limits)

    def _check_modifier(self, param: SearchParam, modifier: str | None, name: str) -> None:
        if modifier is None or modifier in MODIFIERS[param.type]:
            return
        if param.type == "reference" and modifier in self.definitions.resources:
            return
        raise Invalid(f"The modifier ':{modifier}' is not supported on '{name}'")

    def _chain(
        self,
        resource_type: str,
        param: SearchParam,
        type_modifier: str | None,
        tail: str,
        value: str,
    ) -> Criterion | None:
        if param.type != "reference":
            raise Invalid(f"Only reference parameters can be chained, not '{param.code}'")
        links = tail.count(".") + 1
        if links > MAX_CHAIN_LINKS:
            raise Invalid(
                f"Chains are limited to {MAX_CHAIN_LINKS} links; '{param.code}.{tail}' has {links}"
            )
        if type_modifier and param.targets and type_modifier not in param.targets:
            raise Invalid(f"{type_modifier} is not a target of {resource_type}.{param.code}")
        resolved = [
            (target, inner)
            for target in self._chain_targets(param, type_modifier, tail)
            if (inner := self.criterion(target, tail, value)) is not None
        ]
        if not resolved:
            self._unknown(f"No target of {resource_type}.{param.code} has a parameter '{tail}'")
            return None
        return Criterion(param, None, (), Chain(tuple(resolved)))

    def _chain_targets(self, param: SearchParam, type_modifier: str | None, tail: str) -> list[str]:
        """The target types the rest of a chain applies to: without a type modifier, every
        target that has its next parameter (search.html#chaining), as a reference if the
        chain goes on, so that a same-named parameter of another type does not end it."""
        head, dot, _ = tail.partition(".")
        code = head.partition(":")[0]
        declared = [
            t
            for t in ([type_modifier] if type_modifier else param.targets)
            if self.definitions.resource(t) is not None
        ]
        if code == "_id":
            return declared
        found = [(t, p) for t in declared if (p := self._param(t, code)) is not None]
        chainable = [t for t, p in found if not dot or p.type == "reference"]
        if found and not chainable:
            raise Invalid(f"Only reference parameters can be chained, not '{code}'")
        return chainable

    def _result_param(self, base: str, name: str, value: str) -> None:
        handler = getattr(self, "_" + base.lstrip("_"))
        applied = handler(name, value)
        if applied is not False and base not in ("_count", "_cursor"):
            self.request.applied.append((name, value))

    def _count(self, _name: str, value: str) -> None:
        self.request.count = parse_count(value, self.max_count)

    def _cursor(self, _name: str, value: str) -> None:
        self.request.offset, self.request.snapshot = parse_cursor(value)

    def _summary(self, _name: str, value: str) -> bool:
        if value == "count":
            self.request.summary_count = True
        elif value != "false":
            self._unknown(f"_summary={value} is not supported")
            return False
        return True

    def _total(self, _name: str, value: str) -> None:
        if value not in ("none", "estimate", "accurate"):
            raise Invalid(f"_total must be none, estimate or accurate, not '{value}'")
        self.request.total = value != "none"

    def _elements(self, name: str, value: str) -> None:
        listed = check_values(name, tuple(value.split(",")), self.limits)
        self.request.elements = [e.strip() for e in listed if e.strip()]

    def _sort(self, name: str, value: str) -> None:
        listed = check_values(name, tuple(value.split(",")), self.limits)
        for key in (k.strip() for k in listed if k.strip()):
            descending = key.startswith("-")
            code = key.lstrip("-")
            if code == "_id":
                self.request.sort.append(("_id", descending))
                continue
            param = self._param(self.request.resource_type, code)
            if param is None:
                raise Invalid(f"Cannot sort by unknown parameter '{code}'")
            self.request.sort.append((param, descending))

    def _include(self, name: str, value: str) -> None:
        self.request.include.append(self._parse_include(name, value))

    def _revinclude(self, name: str, value: str) -> None:
        self.request.revinclude.append(self._parse_include(name, value))

    def _parse_include(self, name: str, value: str) -> Include:
        modifier = name.partition(":")[2]
        if modifier not in ("", "iterate", "recurse"):
            raise Invalid(f"Unsupported modifier on '{name}'")
        parts = value.split(":")
        if len(parts) not in (2, 3):
            raise Invalid(f"'{value}' is not of the form Type:parameter[:targetType]")
        param = self._param(parts[0], parts[1])
        if param is None or param.type != "reference":
            raise Invalid(f"'{parts[0]}:{parts[1]}' is not a reference search parameter")
        target = parts[2] if len(parts) == 3 else None
        return Include(parts[0], param, target, iterate=bool(modifier))
