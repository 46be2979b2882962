"""Index rows per parameter type."""

from decimal import Decimal

from medsvc.fhir.indexing import (
    date_rows,
    normalize,
    quantity_rows,
    reference_rows,
    string_rows,
    token_rows,
)


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
