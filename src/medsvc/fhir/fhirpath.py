"""Evaluates the FHIRPath expressions of SearchParameters to the values a resource is indexed by.

Nearly every R4B search expression is a plain path, a union of paths, a type cast
(`as T`, `.as(T)`, `.ofType(T)`) or `.where(resolve() is T)`; those are compiled here into
direct walks over the JSON, several times faster than a general FHIRPath engine. Anything
else is handed to fhirpathpy.
"""

import re
from collections.abc import Callable, Iterator
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from medsvc.fhir import references

Value = tuple[Any, str | None]  # an element and, for choice elements, its type name
Extractor = Callable[[dict[str, Any]], list[Value]]

_SIMPLE_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)*$")
_CAST = re.compile(r"^\((?P<path>[^()]+) as (?P<type>\w+)\)(?P<rest>(\.[a-z]\w*)*)$")
_METHOD_CAST = re.compile(r"^(?P<path>[^()]+)\.(?:as|ofType)\((?P<type>\w+)\)$")
_RESOLVE_IS = re.compile(r"^(?P<path>[^()]+)\.where\(resolve\(\) is (?P<type>\w+)\)$")
_ELEMENT = re.compile(r"^[a-z][A-Za-z0-9]*")
_FROM_NOTHING = re.compile(r"\b(exists|empty|count|not|iif|allFalse|allTrue|anyFalse)\(|!=|=|%")


def split_union(expression: str) -> list[str]:
    """Splits `a | b | (c as T)` at the top-level bars."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(expression):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    parts.append(expression[start:].strip())
    return [p for p in parts if p]


def root_of(part: str) -> str:
    return part.lstrip("(").split(".", 1)[0].split(" ", 1)[0]


def children(node: Any, name: str) -> Iterator[Value]:
    if not isinstance(node, dict):
        return
    if name in node:
        value = node[name]
        for item in value if isinstance(value, list) else [value]:
            yield item, None
        return
    for key, value in node.items():  # a choice element: valueQuantity, effectivePeriod, ...
        if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
            for item in value if isinstance(value, list) else [value]:
                yield item, key[len(name) :]


def walk(nodes: list[Value], steps: list[str]) -> list[Value]:
    for step in steps:
        nodes = [child for node, _ in nodes for child in children(node, step)]
    return nodes


def _compile_path(path: str) -> Callable[[dict[str, Any]], list[Value]] | None:
    if not _SIMPLE_PATH.match(path):
        return None
    steps = path.split(".")[1:]
    return lambda resource: walk([(resource, None)], steps)


def _is_type(type_name: str) -> Callable[[Value], bool]:
    wanted = type_name.lower()
    return lambda value: value[1] is not None and value[1].lower() == wanted


def _cast(match: re.Match[str]) -> Extractor | None:
    inner, rest = _compile_path(match["path"]), [x for x in match["rest"].split(".") if x]
    is_type = _is_type(match["type"])
    return inner and (lambda r: walk([v for v in inner(r) if is_type(v)], rest))


def _method_cast(match: re.Match[str]) -> Extractor | None:
    inner, is_type = _compile_path(match["path"]), _is_type(match["type"])
    return inner and (lambda r: [v for v in inner(r) if is_type(v)])


def _resolve_is(match: re.Match[str]) -> Extractor | None:
    inner, wanted = _compile_path(match["path"]), match["type"]
    return inner and (lambda r: [v for v in inner(r) if _points_to(v[0], wanted)])


def _where_equals(match: re.Match[str]) -> Extractor | None:
    inner, key, literal = _compile_path(match["path"]), match["key"], match["literal"]
    return inner and (
        lambda r: [v for v in inner(r) if isinstance(v[0], dict) and v[0].get(key) == literal]
    )


def _extension(match: re.Match[str]) -> Extractor | None:
    """X.extension('url'): indexed by the extension's value, as search expects."""
    inner, url = _compile_path(match["path"]), match["url"]
    if inner is None:
        return None

    def values(resource: dict[str, Any]) -> list[Value]:
        found = [
            e
            for node, _ in inner(resource)
            if isinstance(node, dict)
            for e in node.get("extension", [])
            if e.get("url") == url
        ]
        return [v for e in found for v in children(e, "value")]

    return values


def _present_and_not_false(match: re.Match[str]) -> Extractor | None:
    """X.y.exists() and X.y != false: true for any value but the boolean false."""
    inner = _compile_path(match["path"])
    return inner and (lambda r: [(any(v[0] is not False for v in inner(r)), None)])


_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], Extractor | None]]] = [
    (_CAST, _cast),
    (_METHOD_CAST, _method_cast),
    (_RESOLVE_IS, _resolve_is),
    (re.compile(r"^(?P<path>[^()]+)\.where\((?P<key>\w+)='(?P<literal>[^']*)'\)$"), _where_equals),
    (re.compile(r"^(?P<path>[^()]+)\.extension\('(?P<url>[^']+)'\)$"), _extension),
    (re.compile(r"^(?P<path>[\w.]+)\.exists\(\) and (?P=path) != false$"), _present_and_not_false),
]


def _compile_part(part: str) -> Extractor | None:
    if (plain := _compile_path(part)) is not None:
        return plain
    for pattern, build in _PATTERNS:
        if match := pattern.match(part):
            return build(match)
    return None


def _points_to(node: Any, resource_type: str) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("reference"), str):
        return False
    return references.type_named(node["reference"]) == resource_type


def _fallback(part: str) -> Extractor:
    compiled = fhirpathpy.compile(part, models["r4"])

    def evaluate(resource: dict[str, Any]) -> list[Value]:
        return [(item, None) for item in compiled(resource, {})]

    return evaluate


def elements_read(expression: str, resource_type: str) -> frozenset[str] | None:
    """The top-level elements the expression's parts for a type start from, e.g. `value` for
    `(Observation.value as Quantity)`; None when a part may give a value with none of them
    present (`Patient.deceased.exists() and ...` is false then) or starts elsewhere."""
    names = set()
    for part in split_union(expression):
        if root_of(part) not in (resource_type, "Resource", "DomainResource"):
            continue
        element = _ELEMENT.match(part.lstrip("(").partition(".")[2])
        if element is None or _FROM_NOTHING.search(_top_level(part)):
            return None
        names.add(element[0])
    return frozenset(names)


def _top_level(part: str) -> str:
    """The part with what its parentheses hold left out: `a.where(b = c)` gives `a.where()`."""
    while (inner := re.sub(r"\(([^()]+)\)", "()", part)) != part:
        part = inner
    return part


def compile_expression(expression: str, resource_type: str) -> Extractor | None:
    """An extractor for the parts of a (possibly multi-type) expression that apply to a type."""
    applicable = [
        p
        for p in split_union(expression)
        if root_of(p) in (resource_type, "Resource", "DomainResource")
    ]
    if not applicable:
        return None
    extractors = [_compile_part(p) or _fallback(p) for p in applicable]
    if len(extractors) == 1:
        return extractors[0]
    return lambda resource: [v for extract in extractors for v in extract(resource)]
