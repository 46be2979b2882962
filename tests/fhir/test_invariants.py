"""Invariants decided from presence tests agree with fhirpathpy's full evaluation."""

import json
from typing import Any

import pytest

from medsvc.fhir.definitions import get_definitions
from medsvc.fhir.invariants import Invariant, compile_invariant
from medsvc.fhir.profile_rules import compile_rules, nodes_at
from tests.conftest import EXAMPLES


def invariant(expression: str) -> Invariant:
    return compile_invariant({"key": "t-1", "human": "test", "expression": expression})


def full_evaluation(inv: Invariant, node: Any, resource: dict[str, Any]) -> bool:
    context = {"resource": resource, "rootResource": resource}
    return inv.evaluate(node, context) != [False]


def test_observation_obs6_is_decided_without_the_engine() -> None:
    obs6 = invariant("dataAbsentReason.empty() or value.empty()")
    assert obs6.tests is not None
    both = {"valueString": "x", "dataAbsentReason": {"text": "lost"}}
    assert not obs6.holds(both, {})
    assert obs6.holds({"valueQuantity": {"value": 1}}, {})
    assert obs6.holds({"dataAbsentReason": {"text": "lost"}}, {})


@pytest.mark.parametrize(
    ("expression", "node", "expected"),
    [
        ("low.exists() or high.exists() or text.exists()", {"text": "normal"}, True),
        ("low.exists() or high.exists() or text.exists()", {"appliesTo": []}, False),
        ("a.b.exists() or c.empty()", {"a": [{"b": 1}], "c": 2}, True),
        ("a.b.exists() or c.empty()", {"a": [{"d": 1}], "c": 2}, False),
        ("a.where(b = 'x)').empty() or c.exists()", {"c": 1}, True),
        ("a.where(b = 'x)').empty() or c.exists()", {}, True),
        ("a.where(b = 'x').empty() or c.exists()", {"a": [{"b": "x"}]}, False),
        ("a.where(b = 'x').empty() or c.exists()", {"a": [{"b": "y"}]}, True),
        ("a.where(b).count().empty() or c.exists()", {}, False),
        ("birthDate.exists() or x.exists()", {"_birthDate": {"extension": []}}, True),
    ],
)
def test_presence_tests_agree_with_fhirpathpy(
    expression: str, node: dict[str, Any], expected: bool
) -> None:
    inv = invariant(expression)
    assert full_evaluation(inv, node, node) is expected
    assert inv.holds(node, {"resource": node, "rootResource": node}) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "a.exists() and b.exists()",
        "a.exists() implies b.exists()",
        "(a | b).count() < 2",
        "a.empty() xor b.empty()",
    ],
)
def test_other_operators_go_to_the_engine(expression: str) -> None:
    assert invariant(expression).tests is None


def example_nodes() -> list[tuple[str, Invariant, Any, dict[str, Any]]]:
    definitions = get_definitions()
    cases = []
    for path in sorted(EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_text())
        definition = definitions.resource(resource["resourceType"])
        assert definition is not None
        for rule in compile_rules(definition.structure, definitions.value_sets):
            for node, where in nodes_at(resource, rule.steps):
                cases += [(f"{path.stem} {where}", i, node, resource) for i in rule.invariants]
    return cases


def test_every_official_example_gets_the_engines_answer() -> None:
    cases = example_nodes()
    decided = 0
    for where, inv, node, resource in cases:
        context = {"resource": resource, "rootResource": resource}
        assert inv.holds(node, context) is full_evaluation(inv, node, resource), (where, inv.key)
        if inv.tests is not None and isinstance(node, dict):
            decided += 1
    assert len(cases) > 200  # the examples reach the invariants of every in-scope type
    assert decided > len(cases) // 2
