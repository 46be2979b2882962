"""Every vendored official R4B example survives create and read unchanged.

The examples are posted as their exact bytes and read back; the content must equal the
original apart from the server-assigned id, meta.versionId and meta.lastUpdated. Both sides
are parsed with Decimal numbers so a decimal's written precision ("5.40") is compared exactly.
"""

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from medsvc.fhir import references
from tests.conftest import EXAMPLES
from tests.factories import FHIR_JSON

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
SERVER_META = ("versionId", "lastUpdated")
# AuditEvents are recorded by the server itself; their examples are validated, not created.
RECORDED = [p for p in EXAMPLE_FILES if p.name.startswith("AuditEvent-")]
CREATED = [p for p in EXAMPLE_FILES if p not in RECORDED]
# Results are refused unless they meet the lab essentials; most official examples do not.
RESULT_TYPES = ("DiagnosticReport", "Observation")


def parse(data: bytes | str) -> Any:
    return json.loads(data, parse_float=Decimal)


def exact(value: Any) -> Any:
    """The value with every number tagged by its type and written form.

    Decimal("1.0") == Decimal("1") and True == 1 in Python, but not in FHIR: tagging numbers
    and booleans makes the comparison keep a decimal's precision and a value's JSON type.
    """
    if isinstance(value, dict):
        return {key: exact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [exact(item) for item in value]
    if isinstance(value, bool | int | Decimal):
        return (type(value).__name__, str(value))
    return value


def comparable(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without its id and the meta elements the server assigns, numbers exact."""
    result = {k: v for k, v in resource.items() if k != "id"}
    meta = {k: v for k, v in (result.pop("meta", None) or {}).items() if k not in SERVER_META}
    if meta:
        result["meta"] = meta
    return exact(result)


def create(client: httpx.Client, data: bytes) -> httpx.Response:
    resource_type = parse(data)["resourceType"]
    response = client.post(f"/{resource_type}", content=data, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response


# Where the other sealed types name the Patient whose key seals them.
PATIENT_ELEMENT = {
    "ServiceRequest": "subject",
    "Specimen": "subject",
    "DocumentReference": "subject",
    "Binary": "securityContext",
}


def essentials_missing(resource: dict[str, Any]) -> list[str]:
    """The elements a result lacks of the lab essentials (results/essentials.py), in order."""
    kind, missing = resource["resourceType"], []
    if kind in PATIENT_ELEMENT:
        element = PATIENT_ELEMENT[kind]
        # A Patient on another server is no patient of this one (fhir/references.py).
        target = references.local_target((resource.get(element) or {}).get("reference"), None)
        return [] if target is not None and target.type == "Patient" else [f"{kind}.{element}"]
    if not resource.get("category"):
        missing.append(f"{kind}.category")
    if not str((resource.get("subject") or {}).get("reference", "")).startswith("Patient/"):
        missing.append(f"{kind}.subject")
    if resource["status"] in ("final", "amended", "corrected", "appended"):
        if not any(key.startswith("effective") for key in resource):
            missing.append(f"{kind}.effective[x]")
        if "issued" not in resource:
            missing.append(f"{kind}.issued")
    if kind == "Observation":
        missing += [f"{where}.system" for where in non_ucum_quantities(resource, kind)]
    return missing


def non_ucum_quantities(node: dict[str, Any], where: str) -> list[str]:
    found = []
    quantities = [(node.get("valueQuantity"), f"{where}.valueQuantity")]
    for n, bounds in enumerate(node.get("referenceRange", [])):
        quantities += [(bounds.get(b), f"{where}.referenceRange[{n}].{b}") for b in ("low", "high")]
    for quantity, at in quantities:
        if (
            quantity
            and "value" in quantity
            and quantity.get("system") != "http://unitsofmeasure.org"
        ):
            found.append(at)
    for n, component in enumerate(node.get("component", [])):
        found += non_ucum_quantities(component, f"{where}.component[{n}]")
    return found


def meets_lab_essentials(resource: dict[str, Any]) -> bool:
    return not essentials_missing(resource)


def test_examples_are_vendored() -> None:
    assert len(EXAMPLE_FILES) == 192


def test_some_result_examples_meet_the_lab_essentials() -> None:
    results = [parse(p.read_bytes()) for p in CREATED if p.name.split("-")[0] in RESULT_TYPES]
    assert len(results) == 70
    assert len([r for r in results if meets_lab_essentials(r)]) == 5


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: path.name)
def test_recorded_examples_validate_but_cannot_be_posted(client: httpx.Client, path: Path) -> None:
    data = path.read_bytes()
    checked = client.post("/AuditEvent/$validate", content=data, headers=FHIR_JSON)
    assert checked.status_code == 200, checked.text
    posted = client.post("/AuditEvent", content=data, headers=FHIR_JSON)
    assert posted.status_code == 405


@pytest.mark.parametrize("path", CREATED, ids=lambda path: path.name)
def test_example_round_trips(client: httpx.Client, path: Path) -> None:
    data = path.read_bytes()
    original = parse(data)
    checked = (*RESULT_TYPES, *PATIENT_ELEMENT)
    if original["resourceType"] in checked and not meets_lab_essentials(original):
        refused = client.post(f"/{original['resourceType']}", content=data, headers=FHIR_JSON)
        assert refused.status_code == 422, refused.text
        named = [e for issue in refused.json()["issue"] for e in issue["expression"]]
        assert named == essentials_missing(original)
        return
    if original["resourceType"] == "Subscription":  # a hospital's system's only
        refused = client.post("/Subscription", content=data, headers=FHIR_JSON)
        assert (refused.status_code, refused.json()["issue"][0]["code"]) == (403, "forbidden")
        return
    created = create(client, data)
    new_id = parse(created.content)["id"]
    assert created.headers["location"].endswith(f"/{original['resourceType']}/{new_id}/_history/1")
    read = client.get(
        f"/{original['resourceType']}/{new_id}", headers={"Accept": "application/fhir+json"}
    )
    assert read.status_code == 200, read.text
    assert read.headers["content-type"].startswith("application/fhir+json")
    stored = parse(read.content)
    assert stored["resourceType"] == original["resourceType"]
    assert stored["id"] == new_id
    assert stored["meta"]["versionId"] == "1"
    assert comparable(stored) == comparable(original)


@pytest.mark.parametrize("name", ["Observation-map-sitting.json", "Binary-example.json"])
def test_format_parameter_and_accept_header_give_the_same_bytes(
    client: httpx.Client, name: str
) -> None:
    data = (EXAMPLES / name).read_bytes()
    resource_type = parse(data)["resourceType"]
    if resource_type == "Binary":  # its DocumentReference is not stored here: its Patient is
        data = data.replace(b'"DocumentReference/example"', b'"Patient/example"')
    new_id = parse(create(client, data).content)["id"]
    url = f"/{resource_type}/{new_id}"
    by_accept = client.get(url, headers={"Accept": "application/fhir+json"})
    by_format = client.get(url, params={"_format": "json"}, headers={"Accept": "*/*"})
    assert by_accept.status_code == by_format.status_code == 200
    assert by_format.headers["content-type"].startswith("application/fhir+json")
    assert by_format.content == by_accept.content
