"""Index rows per parameter type."""

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from medsvc.fhir.definitions import SearchParam, get_definitions
from medsvc.fhir.indexing import (
    date_rows,
    normalize,
    quantity_rows,
    reference_rows,
    rows_for,
    string_rows,
    token_rows,
)
from tests.conftest import EXAMPLES

BASE = "http://localhost/fhir"


def test_normalize_folds_case_and_accents() -> None:
    assert normalize("Hernández ÅSTRÖM") == "hernandez astrom"


def test_string_parts_of_names_and_addresses() -> None:
    name = {"family": "Virtanen", "given": ["Aino", "Maria"], "text": "Aino Virtanen"}
    assert {r["value_exact"] for r in string_rows((name, None))} == {
        "Virtanen",
        "Aino",
        "Maria",
        "Aino Virtanen",
    }
    address = {"line": ["Main St 1"], "city": "Helsinki", "use": "home"}
    assert {r["value_exact"] for r in string_rows((address, None))} == {"Main St 1", "Helsinki"}


def test_tokens_of_each_shape() -> None:
    concept = {"coding": [{"system": "s", "code": "a"}, {"code": "b"}], "text": "t"}
    assert token_rows((concept, None)) == [
        {"system": "s", "code": "a"},
        {"system": None, "code": "b"},
    ]
    assert token_rows(({"system": "urn:mrn", "value": "7"}, None)) == [
        {"system": "urn:mrn", "code": "7"}
    ]
    assert token_rows((True, None)) == [{"system": None, "code": "true"}]
    assert token_rows(("final", None)) == [{"system": None, "code": "final"}]
    assert token_rows(("x" * 600, None))[0]["code"] == "x" * 512


def test_dates_of_periods_are_open_where_unbounded() -> None:
    [row] = date_rows(({"start": "2024-01-01"}, None))
    assert row["high"] > 10**17
    assert date_rows(("not-a-date", None)) == []


def test_references_local_absolute_and_logical() -> None:
    base = "https://city.example/fhir"
    assert reference_rows(({"reference": f"{base}/Patient/1"}, None), base) == [
        {"target_type": "Patient", "target_id": "1"}
    ]
    assert reference_rows(({"reference": "https://other.example/fhir/Patient/1"}, None), base) == [
        {"url": "https://other.example/fhir/Patient/1"}
    ]
    assert reference_rows(({"identifier": {"system": "s", "value": "v"}}, None), base) == [
        {"identifier_system": "s", "identifier_value": "v"}
    ]
    assert reference_rows(({"reference": "#c1"}, None), base) == []


def test_quantities() -> None:
    row = quantity_rows(
        ({"value": Decimal("1.50"), "unit": "mg", "system": "u", "code": "mg"}, None)
    )
    assert row == [{"value": 1.5, "system": "u", "code": "mg", "unit": "mg"}]
    assert quantity_rows(({"unit": "mg"}, None)) == []


def index_of(resource: dict[str, Any], params: Iterable[SearchParam]) -> list[tuple[str, str]]:
    rows = [(p.code, repr(row)) for p in params for row in rows_for(p, resource, BASE)]
    return sorted(rows)


def test_parameters_chosen_by_element_index_what_every_parameter_would() -> None:
    definitions = get_definitions()
    indexed = chosen_count = every_count = 0
    for path in sorted(EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_text(), parse_float=Decimal)
        definition = definitions.resource(resource["resourceType"])
        assert definition is not None
        chosen = definition.indexed_by.for_resource(resource)
        expected = index_of(resource, definition.params.values())
        assert index_of(resource, chosen) == expected, path.name
        indexed += len(expected)
        chosen_count, every_count = chosen_count + len(chosen), every_count + len(definition.params)
    assert indexed > 2000
    assert chosen_count < every_count * 0.7  # even these rich examples skip a third


def test_choice_elements_are_found_by_their_typed_key() -> None:
    observation = get_definitions().resources["Observation"]
    chosen = observation.indexed_by.for_resource(
        {"resourceType": "Observation", "valueQuantity": {"value": 1}, "_status": {}}
    )
    assert {"value-quantity", "combo-value-quantity", "status"} <= {p.code for p in chosen}
