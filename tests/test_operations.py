"""The $operations the service registers: their names, levels, types and whether they change
anything, all read from their OperationDefinitions."""

from pathlib import Path

from medsvc.assembly import fhir_server
from tests.conftest import make_settings

RESULT_TYPES = frozenset({"DiagnosticReport", "Observation", "DocumentReference"})
INSTANCE = frozenset({"instance"})
TYPE = frozenset({"type"})
# (name, levels, types (None: every type), affects_state) of every operation, as the service
# answered them when each was restated in code beside its definition.
REGISTERED = {
    ("validate", frozenset({"type", "instance"}), None, False),
    ("everything", INSTANCE, frozenset({"Patient"}), False),
    ("find", TYPE, frozenset({"Appointment"}), False),
    ("hold", TYPE, frozenset({"Appointment"}), True),
    ("book", TYPE, frozenset({"Appointment"}), True),
    ("cancel", INSTANCE, frozenset({"Appointment"}), True),
    ("break-glass", INSTANCE, frozenset({"Patient"}), True),
    ("release", INSTANCE, RESULT_TYPES, True),
    ("withhold", INSTANCE, RESULT_TYPES, True),
    ("release-choice", INSTANCE, frozenset({"Patient"}), True),
    ("waiting-results", INSTANCE, frozenset({"Patient"}), False),
    ("status", INSTANCE, frozenset({"Subscription"}), False),
    ("events", INSTANCE, frozenset({"Subscription"}), False),
    ("proxy-invite", TYPE, frozenset({"Patient"}), True),
    ("proxy-accept", TYPE, frozenset({"Patient"}), True),
    ("proxy-child", TYPE, frozenset({"Patient"}), True),
    ("proxy-activity", INSTANCE, frozenset({"Patient"}), False),
}


def test_every_operation_is_invoked_as_before(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path}/unused.db", 8000, keys_dir=tmp_path)
    operations = fhir_server(settings).registry.operations
    found = {(o.name, o.levels, o.types, o.affects_state) for o in operations.values()}
    assert found == REGISTERED
    assert all(name == o.definition.code for name, o in operations.items())
