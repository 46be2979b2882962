"""What one request may hold: the bounds on a parsed body (elements, array items, nesting,
string length, per resource) and on a search (values and parameters), checked right after
parsing, before the models validate anything and before a writer is taken.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from medsvc.config import Settings
from medsvc.errors import Invalid, PayloadTooLarge
from medsvc.fhir import jsonio

# base64Binary content (Binary.data, Attachment.data) and SampledData.data are bounded only
# by the body's size: a report's PDF is one long string.
UNBOUNDED_STRINGS = frozenset({"data"})
# The elements whose `resource` is a resource of its own, counted on its own.
RESOURCE_HOLDERS = frozenset({"Bundle.entry", "Parameters.parameter"})


@dataclass(frozen=True)
class Limits:
    """The bounds, as configured (config.py names each one's setting)."""

    max_depth: int = 64
    max_array_items: int = 1000
    max_string_chars: int = 1_048_576
    max_resource_elements: int = 20_000
    max_body_elements: int = 100_000
    # Items allowed in one array by its element path (Bundle.entry, Observation.component).
    array_items: Mapping[str, int] = field(default_factory=lambda: {"Bundle.entry": 1000})
    max_search_values: int = 100
    max_search_params: int = 50
    max_search_value_chars: int = 65_536

    def items_of(self, element: str) -> int:
        return self.array_items.get(element, self.max_array_items)


def parse_array_items(text: str, bundle_entries: int) -> dict[str, int]:
    """Per-element overrides such as "Observation.component=5000,Group.member=20000"; a
    Bundle's entries are bounded by their own setting."""
    limits = {"Bundle.entry": bundle_entries}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        element, _, number = part.partition("=")
        if "." not in element or not number.strip().isdigit():
            raise ValueError(f"'{part}' is not of the form Type.element=items")
        limits[element.strip()] = int(number)
    return limits


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.max_json_depth,
        max_array_items=settings.max_array_items,
        max_string_chars=settings.max_string_chars,
        max_resource_elements=settings.max_resource_elements,
        max_body_elements=settings.max_body_elements,
        array_items=parse_array_items(settings.array_item_overrides, settings.max_bundle_entries),
        max_search_values=settings.max_search_values,
        max_search_params=settings.max_search_params,
        max_search_value_chars=settings.max_search_value_chars,
    )


@dataclass
class _Resource:
    """A resource in the body: its type, where it starts, and its elements counted so far."""

    type: str
    path: "_Path"
    elements: int = 0


# Where a value is, as (parent, key) links: made into text only for an error's expression.
_Path = tuple[Any, str | int] | None


def _where(path: _Path) -> str:
    keys: list[str | int] = []
    while path is not None:
        path, key = path
        keys.append(key)
    text = ""
    for key in reversed(keys):
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
    return text


def _too_large(message: str, path: _Path) -> PayloadTooLarge:
    where = _where(path)
    return PayloadTooLarge(f"{where or 'The body'}: {message}", expression=where or None)


def _resource_at(value: dict[str, Any], path: _Path) -> _Resource:
    resource_type = value.get("resourceType")
    return _Resource(resource_type[:64] if isinstance(resource_type, str) else "", path, 1)


class _Walk:
    """One pass over a parsed body, without recursion, that stops at the first element past
    a limit: it costs at most a step per element the limits allow, whatever was sent."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.elements = 1
        # Containers still to look into: value, depth, element path, resource, where.
        self.stack: list[tuple[Any, int, str, _Resource, _Path]] = []

    def run(self, body: Any) -> None:
        if not isinstance(body, dict | list):
            return  # a lone string or number: bounded by the body's size, refused as content
        resource = _resource_at(body, None) if isinstance(body, dict) else _Resource("", None, 1)
        root: _Path = (None, resource.type) if resource.type else None
        resource.path = root
        self.stack.append((body, 1, resource.type, resource, root))
        while self.stack:
            self._container(*self.stack.pop())

    def _container(
        self, value: Any, depth: int, element: str, resource: _Resource, path: _Path
    ) -> None:
        limits = self.limits
        if depth > limits.max_depth:
            raise _too_large(f"nested deeper than the limit of {limits.max_depth}", path)
        if isinstance(value, list) and len(value) > limits.items_of(element):
            raise _too_large(
                f"{len(value):,} items; the limit is {limits.items_of(element):,}", path
            )
        self._count(len(value), resource, path)
        # Pushed last to first, so that the first element past a limit is the one reported.
        if isinstance(value, list):
            for i in range(len(value) - 1, -1, -1):
                self._child(value[i], i, depth, element, resource, path)
        else:
            for key, item in reversed(value.items()):
                self._child(item, key, depth, element, resource, path)

    def _child(
        self, item: Any, key: str | int, depth: int, element: str, resource: _Resource, path: _Path
    ) -> None:
        if isinstance(item, str):
            if len(item) > self.limits.max_string_chars and key not in UNBOUNDED_STRINGS:
                raise _too_large(
                    f"{len(item):,} characters; the limit is {self.limits.max_string_chars:,}",
                    (path, key),
                )
        elif isinstance(item, dict | list):
            # An array's items are the array's element; an object's members are its own.
            inner = element if isinstance(key, int) else f"{element}.{key}"
            if key == "resource" and element in RESOURCE_HOLDERS and isinstance(item, dict):
                # A resource within a resource (Bundle.entry.resource, Parameters.parameter.
                # resource) has its own count; contained ones, and anything else that says
                # resourceType, count towards their container.
                resource = _resource_at(item, (path, key))
                inner = resource.type
            self.stack.append((item, depth + 1, inner, resource, (path, key)))

    def _count(self, added: int, resource: _Resource, path: _Path) -> None:
        limits = self.limits
        self.elements += added
        resource.elements += added
        if self.elements > limits.max_body_elements:
            raise _too_large(f"more than {limits.max_body_elements:,} elements in the body", path)
        if resource.elements > limits.max_resource_elements:
            raise _too_large(
                f"more than {limits.max_resource_elements:,} elements, the limit for one "
                f"{resource.type or 'resource'}",
                path,
            )


def parse(body: bytes, limits: Limits) -> Any:
    """A request body parsed and checked. Parsing costs most where the text holds most
    objects and arrays, so more opening brackets than a body may hold elements are refused
    unparsed: counted in the raw text, at the speed of memory."""
    opened = body.count(b"{") + body.count(b"[")
    if opened > limits.max_body_elements:
        raise _too_large(
            f"{opened:,} objects and arrays; the limit is {limits.max_body_elements:,} "
            "elements in the body",
            None,
        )
    return check(jsonio.loads(body), limits)


def check(body: Any, limits: Limits) -> Any:
    """Returns the body, or raises 413 at the first element past a limit, naming it."""
    _Walk(limits).run(body)
    return body


def count_elements(value: Any, budget: int) -> int:
    """How many JSON values a value holds, counted no further than one past the budget."""
    count, stack = 0, [value]
    while stack and count <= budget:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def check_search(pairs: list[tuple[str, str]], limits: Limits) -> None:
    """A search's parameters, each link of a chain counted as one more (every link is one
    more nested subquery): refused with 400 past a limit, before anything is compiled."""
    cost = sum(1 + name.count(".") for name, _ in pairs)
    if cost > limits.max_search_params:
        raise Invalid(
            f"The search has {cost:,} parameters (each chain link and _include counted); "
            f"the limit is {limits.max_search_params}"
        )
    for name, value in pairs:
        if len(name) + len(value) > limits.max_search_value_chars:
            raise Invalid(
                f"The parameter '{name[:100]}' is {len(name) + len(value):,} characters "
                f"long; the limit is {limits.max_search_value_chars:,}"
            )


def check_values(name: str, values: tuple[str, ...], limits: Limits) -> tuple[str, ...]:
    if len(values) > limits.max_search_values:
        raise Invalid(
            f"The parameter '{name[:100]}' has more than {limits.max_search_values} values, "
            f"the limit"
        )
    return values
