"""The invariants of the StructureDefinitions (constraint.expression), evaluated on JSON.

Most invariants of the in-scope types are a disjunction of presence tests, such as obs-6
`dataAbsentReason.empty() or value.empty()`. Such a disjunction is often decided by its
presence tests alone, read straight off the JSON; only when they leave it open does
fhirpathpy evaluate the whole expression, a general engine many times slower.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fhirpathpy
from fhirpathpy.models import models

from medsvc.fhir.fhirpath import children

# A presence test decides its term (True or False) or leaves it open (None).
Test = Callable[[dict[str, Any]], bool | None]

_PATH = r"[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)*"
_EXISTS = re.compile(rf"^(?P<path>{_PATH})\.exists\(\)$")
_EMPTY = re.compile(rf"^(?P<path>{_PATH})\.empty\(\)$")
_FILTERED_EMPTY = re.compile(rf"^(?P<path>{_PATH})\.where\((?P<filter>.*)\)\.empty\(\)$")
_OTHER_OPERATORS = re.compile(r"\s(and|xor|implies)\s|\|")


@dataclass(frozen=True)
class Invariant:
    key: str
    human: str
    expression: str
    evaluate: Callable[[Any, dict[str, Any]], list[Any]]
    tests: tuple[Test, ...] | None  # the disjunction's presence tests, when it is one

    def holds(self, node: Any, context: dict[str, Any]) -> bool:
        if self.tests is not None and isinstance(node, dict):
            decided = _disjunction(self.tests, node)
            if decided is not None:
                return decided
        return self.evaluate(node, context) != [False]


def compile_invariant(constraint: dict[str, Any]) -> Invariant:
    expression = constraint["expression"]
    compiled = fhirpathpy.compile(expression, models["r4"])
    return Invariant(
        constraint["key"], constraint["human"], expression, compiled, _presence_tests(expression)
    )


def _disjunction(tests: tuple[Test, ...], node: dict[str, Any]) -> bool | None:
    """True as soon as one term is true; False only when every term is decided false."""
    open_terms = False
    for test in tests:
        result = test(node)
        if result:
            return True
        open_terms = open_terms or result is None
    return None if open_terms else False


def _presence_tests(expression: str) -> tuple[Test, ...] | None:
    terms = _top_level_terms(expression)
    tests = [_term_test(term) for term in terms or ()]
    if not any(tests):
        return None
    return tuple(test or _undecided for test in tests)


def _undecided(_node: dict[str, Any]) -> None:
    return None


def _top_level_terms(expression: str) -> list[str] | None:
    """`a or b or c` split at its top-level `or`; None for any other top-level operator."""
    flattened = _blank_parentheses(expression)
    if _OTHER_OPERATORS.search(flattened):
        return None
    cuts = [m.start() for m in re.finditer(r"\sor\s", flattened)]
    bounds = zip([0, *(c + 4 for c in cuts)], [*cuts, len(expression)], strict=True)
    return [expression[start:end].strip() for start, end in bounds]


def _blank_parentheses(expression: str) -> str:
    """The expression with everything inside parentheses (and quotes) blanked out."""
    out, depth, quoted = [], 0, False
    for char in expression:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        out.append(char if depth == 0 and not quoted and char != "'" else " ")
    return "".join(out)


def _term_test(term: str) -> Test | None:
    if match := _EXISTS.match(term):
        return _presence(match["path"], when_present=True)
    if match := _EMPTY.match(term):
        return _presence(match["path"], when_present=False)
    match = _FILTERED_EMPTY.match(term)
    if match and _balanced(match["filter"]):
        # A filter of nothing is empty: the term is true when the path finds nothing.
        test = _presence(match["path"], when_present=False)
        return lambda node: True if test(node) else None
    return None


def _balanced(text: str) -> bool:
    """Whether the where() that opens before `text` closes right after it."""
    depth = 0
    for char in _blank_quotes(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _blank_quotes(text: str) -> str:
    return re.sub(r"'(?:[^'\\]|\\.)*'", "''", text)


def _presence(path: str, when_present: bool) -> Test:
    steps = path.split(".")

    def test(node: dict[str, Any]) -> bool | None:
        found = _present(node, steps)
        return None if found is None else found == when_present

    return test


def _present(node: dict[str, Any], steps: list[str]) -> bool | None:
    """Whether the path finds anything; None where only a primitive's extension (`_name`)
    stands, which FHIRPath counts as present and plain JSON reading would not."""
    nodes: list[Any] = [node]
    for step in steps:
        if any(isinstance(n, dict) and "_" + step in n for n in nodes):
            return None
        nodes = [child for n in nodes for child, _type in children(n, step)]
        if not nodes:
            return False
    return True
