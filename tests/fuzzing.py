"""Type-confused request bodies: every position of a valid JSON body replaced by each value
of the wrong JSON type, and the requests a fuzz walk of the app sends them in."""

import copy
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]


def deeply_nested(depth: int = 100) -> list[Any]:
    nested: list[Any] = []
    for _ in range(depth):
        nested = [nested]
    return nested


def wrong_values(value: Any) -> list[Any]:
    """Each JSON type in turn, a list of the value itself, and a deeply nested list."""
    return [None, True, 0, 1.5, "x", [], {}, [value], deeply_nested()]


def positions(node: Any, path: Path = ()) -> Iterator[Path]:
    """Every position in a JSON document, the root first."""
    yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from positions(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from positions(child, (*path, index))


def value_at(document: Any, path: Path) -> Any:
    for step in path:
        document = document[step]
    return document


def replaced(document: Any, path: Path, value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    value_at(changed, path[:-1])[path[-1]] = value
    return changed


def confused(
    document: Any, rnd: random.Random, count: int, must: tuple[Path, ...] = ()
) -> list[Any]:
    """Variants of the document, each with one position holding a value of the wrong type:
    count sampled from everywhere, and count more under each position in must."""
    cases = [
        (path, wrong)
        for path in positions(document)
        for wrong in wrong_values(value_at(document, path))
    ]
    chosen = rnd.sample(cases, min(len(cases), count))
    for prefix in must:
        under = [c for c in cases if c[0][: len(prefix)] == prefix and c not in chosen]
        chosen += rnd.sample(under, min(len(under), count))
    return [replaced(document, path, wrong) for path, wrong in chosen]


@dataclass(frozen=True)
class Case:
    """One request of the walk: a route, and a body as JSON or as raw bytes."""

    method: str
    url: str
    body: bytes
    content_type: str
    authorization: str | None = None

    @staticmethod
    def of_json(method: str, url: str, body: Any, media: str = "application/fhir+json") -> "Case":
        return Case(method, url, json.dumps(body).encode(), media)

    def describe(self) -> str:
        return f"{self.method} {self.url} [{self.content_type}] {self.body[:400]!r}"

    @property
    def headers(self) -> dict[str, str]:
        given = {"Content-Type": self.content_type}
        return given | ({"Authorization": self.authorization} if self.authorization else {})
