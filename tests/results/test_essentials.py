"""The lab essentials, on both databases: a result that lacks one is 422 naming every element
it lacks, and a refused write leaves nothing behind (a status going back: test_stale_pushes)."""

from typing import Any

import httpx
import pytest

from tests.factories import FHIR_JSON, observation, patient
from tests.fhir.test_search import post


@pytest.fixture
def subject(client: httpx.Client) -> str:
    return f"Patient/{post(client, patient())['id']}"


def refused(client: httpx.Client, resource: dict[str, Any], method: str = "POST") -> list[str]:
    """The elements a 422 names, after checking that nothing of that type was stored."""
    kind = resource["resourceType"]
    before = client.get(f"/{kind}", params={"_summary": "count"}).json()["total"]
    url = f"/{kind}/{resource['id']}" if method == "PUT" else f"/{kind}"
    response = client.request(method, url, json=resource, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert client.get(f"/{kind}", params={"_summary": "count"}).json()["total"] == before
    return [e for issue in response.json()["issue"] for e in issue["expression"]]


def without(resource: dict[str, Any], *elements: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in elements}


def test_a_complete_result_is_stored(client: httpx.Client, subject: str) -> None:
    post(client, observation(subject))


def test_every_missing_essential_is_named(client: httpx.Client, subject: str) -> None:
    bare = without(observation(subject), "category", "effectiveDateTime", "issued")
    assert refused(client, bare) == [
        "Observation.category",
        "Observation.effective[x]",
        "Observation.issued",
    ]
    about_a_group = {**observation(subject), "subject": {"reference": "Group/1"}}
    assert refused(client, about_a_group) == ["Observation.subject"]
    assert refused(client, without(observation(subject), "subject")) == ["Observation.subject"]


def test_a_preliminary_result_may_not_say_yet_when(client: httpx.Client, subject: str) -> None:
    post(client, without(observation(subject, status="preliminary"), "effectiveDateTime", "issued"))


def test_quantities_are_in_ucum(client: httpx.Client, subject: str) -> None:
    resource = observation(subject)
    resource["valueQuantity"] = {"value": 5.4, "unit": "mmol/L"}
    resource["component"] = [
        {"code": {"text": "a"}, "valueQuantity": {"value": 1, "system": "http://x", "code": "g"}},
        {
            "code": {"text": "b"},
            "valueQuantity": {"value": 2, "system": "http://unitsofmeasure.org"},
        },
    ]
    resource["referenceRange"] = [{"low": {"value": 2.5, "unit": "mmol/L"}}]
    assert refused(client, resource) == [
        "Observation.valueQuantity.system",
        "Observation.referenceRange[0].low.system",
        "Observation.component[0].valueQuantity.system",
        "Observation.component[1].valueQuantity.system",
    ]


def test_a_report_needs_the_same(client: httpx.Client, subject: str) -> None:
    report = {"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "Panel"}}
    assert refused(client, {**report, "subject": {"reference": subject}}) == [
        "DiagnosticReport.category",
        "DiagnosticReport.effective[x]",
        "DiagnosticReport.issued",
    ]


def test_a_transaction_with_one_bad_result_writes_nothing(
    client: httpx.Client, subject: str
) -> None:
    good, bad = observation(subject), without(observation(subject), "category")
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "POST", "url": "Observation"}}
            for r in (good, bad)
        ],
    }
    response = client.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.category"]
    assert client.get("/Observation", params={"_summary": "count"}).json()["total"] == 0
