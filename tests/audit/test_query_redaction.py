"""A search's audit record keeps its query with the blind-indexed parameters' values as their
index tokens: what was searched for (a code) is no more readable in the audit trail than in
the index, and every other parameter is kept as sent."""

import os
from urllib.parse import parse_qsl

import pytest

from medsvc.audit.query_redaction import WITHHELD, audited_query
from medsvc.crypto.blind_index import BlindIndex
from medsvc.fhir.blinding import Blinder
from medsvc.fhir.definitions import Definitions, get_definitions
from medsvc.results import protection

LOINC = "http://loinc.org"


@pytest.fixture(scope="module")
def definitions() -> Definitions:
    return protection.apply(get_definitions(), BlindIndex(os.urandom(32)))


def blinder(definitions: Definitions, resource_type: str, code: str) -> Blinder:
    definition = definitions.resource(resource_type)
    assert definition is not None
    found: Blinder = definition.params[code].blinder
    return found


def test_a_query_without_blinded_values_is_kept_as_sent(definitions: Definitions) -> None:
    for resource_type, query in (
        ("Observation", "patient=Patient/p1&date=ge2026-01-01&_sort=-date&_count=10"),
        ("Slot", "schedule=Schedule/s1&start=ge2030-01-01&status=free"),
        ("Patient", "identifier=urn:oid:1.2.246.21%7C010190-123A"),
        ("DiagnosticReport", "patient=Patient/p1&_include=DiagnosticReport:result"),
    ):
        assert audited_query(definitions, resource_type, query) == query


def test_codes_are_kept_as_the_tokens_the_index_holds(definitions: Definitions) -> None:
    query = f"patient=Patient/p1&code={LOINC}%7C2160-0,718-7&category=laboratory&_count=5"
    kept = audited_query(definitions, "Observation", query)
    code = blinder(definitions, "Observation", "code")
    category = blinder(definitions, "Observation", "category")
    assert parse_qsl(kept) == [
        ("patient", "Patient/p1"),
        ("code", f"{code.query_value(f'{LOINC}|2160-0')},{code.query_value('718-7')}"),
        ("category", category.query_value("laboratory")),
        ("_count", "5"),
    ]
    for plain in ("2160-0", "718-7", "laboratory", "loinc"):
        assert plain not in kept


def test_a_negated_code_is_a_token_too(definitions: Definitions) -> None:
    kept = audited_query(definitions, "DiagnosticReport", "code:not=24323-8&patient=Patient/p1")
    token = blinder(definitions, "DiagnosticReport", "code").query_value("24323-8")
    assert parse_qsl(kept) == [("code:not", token), ("patient", "Patient/p1")]


@pytest.mark.parametrize(
    ("resource_type", "query"),
    [
        ("Observation", "code:text=glucose"),  # free text: no token
        ("Observation", f"code={LOINC}%7C"),  # a system alone: no token
        ("Observation", "code:in=http://example.org/ValueSet/hiv-tests"),
        ("DiagnosticReport", "result.code=2160-0"),  # chained: the target's parameter
        ("Patient", "_has:Observation:patient:code=2160-0"),
        ("Patient", "_has:Observation:patient:code:not=2160-0"),
    ],
)
def test_what_has_no_token_is_withheld(
    definitions: Definitions, resource_type: str, query: str
) -> None:
    name = query.split("=", 1)[0]
    assert parse_qsl(audited_query(definitions, resource_type, query)) == [(name, WITHHELD)]


def test_a_chain_to_an_unblinded_parameter_is_kept(definitions: Definitions) -> None:
    query = "subject.name=Aalto&_has:Observation:patient:status=final"
    assert audited_query(definitions, "Observation", query) == query


def test_a_query_that_is_not_a_query_string_is_kept_as_sent(definitions: Definitions) -> None:
    assert audited_query(definitions, "Observation", "") == ""
    assert audited_query(definitions, "Observation", "%%%&&=") == "%%%&&="


def test_a_query_past_the_search_limits_is_withheld_whole(definitions: Definitions) -> None:
    """Such a search is refused unrun; its record neither splits it nor keeps any of it."""
    fifty = "&".join(["status=final"] * 50)
    assert audited_query(definitions, "Observation", fifty) == fifty
    assert audited_query(definitions, "Observation", fifty + "&code=2160-0") == WITHHELD
    assert audited_query(definitions, "Observation", "status=" + "x" * 65_530) != WITHHELD
    assert audited_query(definitions, "Observation", "code=" + "x" * 65_533) == WITHHELD
