"""The rules of the StructureDefinitions in fhir_profiles/ that the R4B models do not check.

Minimum cardinalities, required bindings of code elements, and the invariants declared on
each element, compiled once per resource type.
"""

from dataclasses import dataclass
from typing import Any

from medsvc.errors import Issue
from medsvc.fhir.invariants import Invariant, compile_invariant

Node = tuple[Any, str]  # an element and its FHIRPath location, e.g. Appointment.participant[0]


@dataclass(frozen=True)
class ElementRule:
    steps: tuple[str, ...]  # the path below the resource root; a choice ends in [x]
    minimum: int
    codes: frozenset[str] | None
    value_set: str | None
    invariants: tuple[Invariant, ...]


def _child_keys(node: dict[str, Any], step: str) -> list[str]:
    if step.endswith("[x]"):
        prefix = step[:-3]
        return [k for k in node if k.startswith(prefix) and k[len(prefix) :][:1].isupper()]
    return [k for k in (step, "_" + step) if k in node]


def nodes_at(resource: dict[str, Any], steps: tuple[str, ...]) -> list[Node]:
    nodes: list[Node] = [(resource, resource["resourceType"])]
    for step in steps:
        found: list[Node] = []
        for node, where in nodes:
            if not isinstance(node, dict):
                continue
            for key in _child_keys(node, step):
                if key.startswith("_"):
                    continue
                value = node[key]
                if isinstance(value, list):
                    found += [(v, f"{where}.{key}[{i}]") for i, v in enumerate(value)]
                else:
                    found.append((value, f"{where}.{key}"))
        nodes = found
    return nodes


def compile_rules(
    structure: dict[str, Any], value_sets: dict[str, frozenset[str]]
) -> list[ElementRule]:
    rules = []
    for element in structure["snapshot"]["element"]:
        steps = tuple(element["path"].split(".")[1:])
        if "contentReference" in element:
            continue
        binding = element.get("binding", {}).get("valueSet", "").split("|")[0] or None
        is_code = any(t["code"] == "code" for t in element.get("type", []))
        codes = value_sets.get(binding) if binding and is_code else None
        invariants = tuple(compile_invariant(c) for c in element.get("constraint", []))
        minimum = element.get("min", 0) if steps else 0
        if minimum or codes is not None or invariants:
            rules.append(ElementRule(steps, minimum, codes, binding if codes else None, invariants))
    return rules


def _check_minimum(rule: ElementRule, resource: dict[str, Any]) -> list[Issue]:
    issues = []
    for parent, where in nodes_at(resource, rule.steps[:-1]):
        if isinstance(parent, dict) and not _child_keys(parent, rule.steps[-1]):
            name = rule.steps[-1]
            issues.append(
                Issue(
                    f"{where}.{name} is required (minimum cardinality {rule.minimum})",
                    "required",
                    expression=(f"{where}.{name}",),
                )
            )
    return issues


def _check_binding(rule: ElementRule, resource: dict[str, Any]) -> list[Issue]:
    assert rule.codes is not None
    return [
        Issue(
            f"'{value}' is not a code of the required value set {rule.value_set}",
            "code-invalid",
            expression=(where,),
        )
        for value, where in nodes_at(resource, rule.steps)
        if isinstance(value, str) and value not in rule.codes
    ]


def _check_invariants(rule: ElementRule, resource: dict[str, Any]) -> list[Issue]:
    issues = []
    context = {"resource": resource, "rootResource": resource}
    for node, where in nodes_at(resource, rule.steps):
        for invariant in rule.invariants:
            if not invariant.holds(node, context):
                issues.append(
                    Issue(f"{invariant.key}: {invariant.human}", "invariant", expression=(where,))
                )
    return issues


def check(rules: list[ElementRule], resource: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for rule in rules:
        if rule.minimum:
            issues += _check_minimum(rule, resource)
        if rule.codes is not None:
            issues += _check_binding(rule, resource)
        if rule.invariants:
            issues += _check_invariants(rule, resource)
    return issues
