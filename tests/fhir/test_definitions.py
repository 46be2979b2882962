"""OperationDefinitions as loaded: an operation is invoked where its definition says, and a
definition that does not say how it is invoked is refused when the profiles load."""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from medsvc.fhir.definitions import load_definitions
from medsvc.kit.paths import data_path

BOOK = "Appointment-book.json"


def profiles_with(tmp_path: Path, operation: dict[str, Any]) -> Path:
    """A profiles folder of no types, with the one operation and the capability source."""
    for folder in ("SearchParameter", "StructureDefinition", "ValueSet"):
        (tmp_path / folder).mkdir()
    (tmp_path / "OperationDefinition").mkdir()
    (tmp_path / "OperationDefinition" / BOOK).write_text(json.dumps(operation))
    shutil.copy(data_path("fhir_profiles") / "CapabilityStatement-medsvc.json", tmp_path)
    return tmp_path


def shipped(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        (data_path("fhir_profiles") / "OperationDefinition" / name).read_text()
    )
    return found


def test_an_operation_is_read_from_its_definition(tmp_path: Path) -> None:
    book = load_definitions(profiles_with(tmp_path, shipped(BOOK))).operation("Appointment-book")
    assert (book.code, book.levels, book.types, book.affects_state) == (
        "book",
        frozenset({"type"}),
        frozenset({"Appointment"}),
        True,
    )
    assert book.url == "urn:medsvc:OperationDefinition/Appointment-book"


def test_an_operation_on_resource_is_on_every_type(tmp_path: Path) -> None:
    validate = shipped("Resource-validate.json") | {"id": "Appointment-book"}
    loaded = load_definitions(profiles_with(tmp_path, validate)).operation("Appointment-book")
    assert loaded.types is None


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"code": None}, "OperationDefinition Appointment-book: code must be given"),
        ({"code": ""}, "OperationDefinition Appointment-book: code must be given"),
        ({"instance": None}, "OperationDefinition Appointment-book: instance must be given"),
        ({"type": "yes"}, "OperationDefinition Appointment-book: type must be given, a bool"),
        ({"type": False}, "none of system, type and instance is true"),
        ({"resource": None}, "it names no resource"),
        ({"affectsState": "true"}, "affectsState must be a bool"),
    ],
)
def test_a_definition_that_does_not_say_how_it_is_invoked_is_refused(
    tmp_path: Path, change: dict[str, Any], refusal: str
) -> None:
    operation = {k: v for k, v in (shipped(BOOK) | change).items() if v is not None}
    with pytest.raises(ValueError, match=refusal):
        load_definitions(profiles_with(tmp_path, operation))
