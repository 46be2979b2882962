"""docs/architecture.md says which hooks run on a write of each type, in order: the table is
the registry's, and the policy runs first for every type."""

import re
from pathlib import Path

import pytest

from medsvc.assembly import fhir_server
from medsvc.fhir import FhirServer
from tests.conftest import make_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
POLICY_BEFORE = [
    ("before", "medsvc.access.write_policy.before_write"),
    ("before", "medsvc.access.rules.AccessRules.before_write"),
]
POLICY_AFTER = [("after", "medsvc.access.rules.AccessRules.after_write")]


def documented_hooks() -> dict[str, list[tuple[str, str]]]:
    """The rows of the hook table: type -> (phase, hook) beyond the policy's, in order."""
    section = DOC.read_text().split("## What runs on a write", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"[A-Z][A-Za-z]+", cells[0]):
            continue
        rows[cells[0]] = [
            (phase, f"medsvc.{name}")
            for phase, cell in (("before", cells[1]), ("after", cells[2]))
            for name in re.findall(r"`([^`]+)`", cell)
        ]
    return rows


@pytest.fixture(scope="module")
def server() -> FhirServer:
    return fhir_server(make_settings("sqlite://", 8080))


def test_the_documented_hook_order_is_the_registrys(server: FhirServer) -> None:
    documented = documented_hooks()
    assert documented, "the hook table of docs/architecture.md was not found"
    for resource_type in sorted(server.definitions.resources):
        hooks = server.registry.write_hooks(resource_type)
        before = [h for h in hooks if h[0] == "before"]
        after = [h for h in hooks if h[0] == "after"]
        assert before[:2] == POLICY_BEFORE, resource_type
        assert after[:1] == POLICY_AFTER, resource_type
        beyond = before[2:] + after[1:]
        assert beyond == documented.get(resource_type, []), resource_type
    assert set(documented) <= set(server.definitions.resources)
