"""Codes and categories of the results' types are indexed as blind index tokens: the search
index holds none of them, and searching by code, system|code, |code and :not still finds
exactly what it would with the codes."""

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from medsvc.crypto.blind_index import BlindIndex
from medsvc.fhir.blinding import ANY_SYSTEM, WITH_SYSTEM, Blinder
from medsvc.fhir.tables import SearchToken
from tests.conftest import Backend
from tests.factories import FHIR_JSON, observation, patient
from tests.fhir.test_search import ids, post

LOINC = "http://loinc.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def lab(subject: str, code: str, category: str) -> dict[str, Any]:
    resource = observation(subject, code=code)
    resource["category"] = [{"coding": [{"system": CATEGORY, "code": category}]}]
    return resource


@pytest.fixture
def results(client: httpx.Client) -> dict[str, str]:
    subject = f"Patient/{post(client, patient())['id']}"
    return {
        "creatinine": post(client, lab(subject, "2160-0", "laboratory"))["id"],
        "haemoglobin": post(client, lab(subject, "718-7", "laboratory"))["id"],
        "bmi": post(client, lab(subject, "39156-5", "vital-signs"))["id"],
    }


def found(client: httpx.Client, **params: str) -> set[str]:
    response = client.get("/Observation", params=params)
    assert response.status_code == 200, response.text
    return ids(response.json())


def test_the_index_holds_no_code_or_category(clean: Backend, results: dict[str, str]) -> None:
    table = SearchToken.__table__  # type: ignore[attr-defined]
    with clean.database.session(write=False) as session:
        rows = session.execute(
            select(table.c.param, table.c.system, table.c.code).where(
                table.c.resource_type == "Observation"
            )
        ).all()
    blinded = [r for r in rows if r.param in ("code", "category")]
    assert len(blinded) == 3 * 2 * 2  # three resources, two parameters, two rows per coding
    assert {r.system for r in blinded} == {WITH_SYSTEM, ANY_SYSTEM}
    stored = " ".join(f"{r.system} {r.code}" for r in blinded)
    for plain in ("2160-0", "718-7", "39156-5", "laboratory", "vital-signs", LOINC, CATEGORY):
        assert plain not in stored
    assert ("status", None, "final") in {(r.param, r.system, r.code) for r in rows}


def test_searches_find_what_the_codes_would(client: httpx.Client, results: dict[str, str]) -> None:
    creatinine, haemoglobin, bmi = results["creatinine"], results["haemoglobin"], results["bmi"]
    assert found(client, code="2160-0") == {creatinine}
    assert found(client, code=f"{LOINC}|2160-0") == {creatinine}
    assert found(client, code="http://snomed.info/sct|2160-0") == set()
    assert found(client, code="|2160-0") == set()
    assert found(client, code="2160-0,718-7") == {creatinine, haemoglobin}
    assert found(client, **{"code:not": "2160-0"}) == {haemoglobin, bmi}
    assert found(client, category="laboratory") == {creatinine, haemoglobin}
    assert found(client, category=f"{CATEGORY}|vital-signs", code="39156-5") == {bmi}


def test_a_code_without_system_is_found_by_bar_code(client: httpx.Client) -> None:
    subject = f"Patient/{post(client, patient())['id']}"
    resource = observation(subject)
    resource["code"] = {"coding": [{"code": "local-7"}]}
    local = post(client, resource)["id"]
    assert found(client, code="|local-7") == {local}
    assert found(client, code="local-7") == {local}


def test_a_system_alone_is_refused_with_a_clear_outcome(
    client: httpx.Client, results: dict[str, str]
) -> None:
    response = client.get("/Observation", params={"code": f"{LOINC}|"}, headers=FHIR_JSON)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["code"] == "invalid"
    assert "system alone" in issue["diagnostics"]


def test_tokens_depend_on_the_key_the_parameter_and_the_form() -> None:
    one = Blinder(BlindIndex(b"1" * 32), "Observation.code")
    other_key = Blinder(BlindIndex(b"2" * 32), "Observation.code")
    other_param = Blinder(BlindIndex(b"1" * 32), "Observation.category")
    row = {"system": LOINC, "code": "2160-0"}
    assert one.index_rows([row]) != other_key.index_rows([row])
    assert one.index_rows([row]) != other_param.index_rows([row])
    with_system, any_system = one.index_rows([row])
    assert one.query_value(f"{LOINC}|2160-0") == f"{WITH_SYSTEM}|{with_system['code']}"
    assert one.query_value("2160-0") == f"{ANY_SYSTEM}|{any_system['code']}"
