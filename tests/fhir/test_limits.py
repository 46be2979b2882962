"""What one request may hold: each limit just under (accepted) and just over (refused with a
small OperationOutcome naming the element and the limit), through every entry point, and
nothing stored or held after a refusal.

Most tests run against a server with small limits, so that "just over" is a small body; the
attacks from the field (a million-item array, deep nesting, a 15 MB Patient, 600 ORed values)
run against the defaults.
"""

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Request

from medsvc.app import create_app
from medsvc.fhir.limits import limits_from
from medsvc.security.context import AuthContext, auth_context
from tests.conftest import Backend, LiveServer, free_port, make_settings, platform_app
from tests.factories import FHIR_JSON, OBSERVATION_CATEGORY, observation, patient

SMALL = {
    "max_json_depth": 8,
    "max_array_items": 10,
    "array_item_overrides": "Observation.component=12",
    "max_bundle_entries": 3,
    "max_string_chars": 100,
    "max_resource_elements": 60,
    "max_body_elements": 190,
    "max_search_values": 4,
    "max_search_params": 6,
    "max_search_value_chars": 200,
}
SMALL_RESPONSE = 64 * 1024
PATCH_JSON = {"Content-Type": "application/json-patch+json"}


@pytest.fixture(scope="module")
def small_server(backend: Backend) -> Iterator[LiveServer]:
    port = free_port()
    app = platform_app(make_settings(backend.url, port, **SMALL), backend.database)
    with LiveServer(app, port) as server:
        yield server


@pytest.fixture
def small(small_server: LiveServer, clean: Backend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=small_server.url + "/fhir", timeout=60) as http:
        yield http


def values_in(node: Any) -> int:
    """Every JSON value counts as one element: objects, arrays, strings, numbers, booleans."""
    if isinstance(node, dict):
        return 1 + sum(values_in(v) for v in node.values())
    if isinstance(node, list):
        return 1 + sum(values_in(v) for v in node)
    return 1


def sized_patient(elements: int) -> dict[str, Any]:
    """A valid Patient of exactly that many JSON values, no array over 10 items."""
    resource: dict[str, Any] = {"resourceType": "Patient", "active": True, "name": []}
    left = elements - values_in(resource)
    while left >= 3:  # a name of g given names is g + 2 values
        given = min(left - 2, 10)
        resource["name"].append({"given": ["G"] * given})
        left -= given + 2
    if left >= 1:
        resource["gender"] = "female"
    if left == 2:
        resource["birthDate"] = "1990-01-01"
    assert values_in(resource) == elements
    return resource


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def bundle(*entries: dict[str, Any], kind: str = "transaction") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def refused(response: httpx.Response, status: int, expression: str | None, *words: str) -> None:
    assert response.status_code == status, response.text
    assert len(response.content) < SMALL_RESPONSE
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert issue["code"] == ("too-costly" if status == 413 else "invalid")
    if expression is not None:
        assert issue["expression"] == [expression]
    for word in words:
        assert word in issue["diagnostics"], issue["diagnostics"]


def total(http: httpx.Client, resource_type: str) -> int:
    found = http.get(f"/{resource_type}", params={"_summary": "count"})
    assert found.status_code == 200, found.text
    return int(found.json()["total"])


# Each limit, just under and just over


def test_array_items(small: httpx.Client) -> None:
    under = patient(name=[{"family": f"F{i}"} for i in range(10)])
    assert small.post("/Patient", json=under, headers=FHIR_JSON).status_code == 201
    over = {**under, "name": [{"family": f"F{i}"} for i in range(11)]}
    response = small.post("/Patient", json=over, headers=FHIR_JSON)
    refused(response, 413, "Patient.name", "11 items", "limit is 10")
    assert total(small, "Patient") == 1


def test_an_element_that_needs_more_items_has_its_own_limit(small: httpx.Client) -> None:
    subject = small.post("/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    reading = {
        "resourceType": "Observation",
        "status": "preliminary",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "laboratory"}]}],
        "code": {"text": "panel"},
        "subject": {"reference": f"Patient/{subject}"},
        "component": [{"code": {"text": "c"}} for _ in range(12)],
    }
    created = small.post("/Observation", json=reading, headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    reading["component"].append({"code": {"text": "c"}})
    response = small.post("/Observation", json=reading, headers=FHIR_JSON)
    refused(response, 413, "Observation.component", "13 items", "limit is 12")


def nested_extension(levels: int, innermost: dict[str, Any]) -> dict[str, Any]:
    extension = {"url": "urn:x", **innermost}
    for _ in range(levels - 1):
        extension = {"url": "urn:x", "extension": [extension]}
    return extension


def test_nesting_depth(small: httpx.Client) -> None:
    # Patient {1} extension [2] {3} extension [4] {5} extension [6] {7} valueCodeableConcept {8}
    under = {
        "resourceType": "Patient",
        "extension": [nested_extension(3, {"valueCodeableConcept": {"text": "x"}})],
    }
    response = small.post("/Patient", json=under, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    over = {"resourceType": "Patient", "extension": [nested_extension(4, {"valueString": "x"})]}
    response = small.post("/Patient", json=over, headers=FHIR_JSON)
    refused(response, 413, None, "nested deeper than the limit of 8")
    assert total(small, "Patient") == 1


def test_string_length_but_not_base64_data(small: httpx.Client) -> None:
    under = patient(name=[{"text": "x" * 100}])
    assert small.post("/Patient", json=under, headers=FHIR_JSON).status_code == 201
    over = patient(name=[{"text": "x" * 101}])
    response = small.post("/Patient", json=over, headers=FHIR_JSON)
    refused(response, 413, "Patient.name[0].text", "101 characters", "limit is 100")
    subject = small.post("/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    document = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": {"reference": f"Patient/{subject}"},
        "data": base64.b64encode(b"%PDF" * 1000).decode(),
    }
    response = small.post("/Binary", json=document, headers=FHIR_JSON)
    assert response.status_code == 201, response.text


def test_elements_per_resource(small: httpx.Client) -> None:
    response = small.post("/Patient", json=sized_patient(60), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    response = small.post("/Patient", json=sized_patient(61), headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements", "one Patient")
    assert total(small, "Patient") == 1


def test_contained_resources_count_towards_their_container(small: httpx.Client) -> None:
    inner = sized_patient(40)
    inner["id"] = "c1"
    outer = {**sized_patient(20), "contained": [inner]}
    response = small.post("/Patient", json=outer, headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements")


@pytest.mark.parametrize("key", ["resource", "x", "modifierExtension"])
def test_a_resource_wrapped_anywhere_else_counts_towards_its_container(
    small: httpx.Client, key: str
) -> None:
    """Only Bundle.entry.resource and Parameters.parameter.resource start a count of their
    own: an object saying resourceType elsewhere does not reset the resource's count."""
    basic = {"resourceType": "Basic", **{f"k{i}": "v" for i in range(9)}}
    wrapped = {**sized_patient(20), **{f"{key}{i}": basic for i in range(4)}}
    assert values_in(wrapped) > 60
    response = small.post("/Patient", json=wrapped, headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements", "one Patient")
    assert total(small, "Patient") == 0


def test_elements_per_body_and_each_bundle_resource_on_its_own(small: httpx.Client) -> None:
    # 4 for the Bundle, 4 for each entry besides its resource: 4 + 3 * (4 + 58) = 190.
    under = bundle(*(entry(sized_patient(58)) for _ in range(3)))
    assert values_in(under) == 190
    response = small.post("", json=under, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    over = bundle(entry(sized_patient(59)), *(entry(sized_patient(58)) for _ in range(2)))
    response = small.post("", json=over, headers=FHIR_JSON)
    refused(response, 413, None, "more than 190 elements in the body")
    one_too_big = bundle(entry(sized_patient(61)))
    response = small.post("", json=one_too_big, headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements", "one Patient")
    assert total(small, "Patient") == 3


def test_bundle_entries(small: httpx.Client) -> None:
    for kind in ("transaction", "batch"):
        under = bundle(*(entry(patient(mrn=str(i))) for i in range(3)), kind=kind)
        assert small.post("", json=under, headers=FHIR_JSON).status_code == 200
        over = bundle(*(entry(patient(mrn=str(i))) for i in range(4)), kind=kind)
        response = small.post("", json=over, headers=FHIR_JSON)
        refused(response, 413, "Bundle.entry", "4 items", "limit is 3")
    assert total(small, "Patient") == 6


# Every entry point


def test_validate_and_operation_bodies(small: httpx.Client) -> None:
    within = {"resourceType": "Parameters", "parameter": [{"name": "resource"}]}
    within["parameter"][0]["resource"] = sized_patient(60)
    response = small.post("/Patient/$validate", json=within, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    beyond = {"resourceType": "Parameters", "parameter": [{"name": "resource"}]}
    beyond["parameter"][0]["resource"] = sized_patient(61)
    response = small.post("/Patient/$validate", json=beyond, headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements")
    many = {"resourceType": "Parameters", "parameter": [{"name": "x"}] * 11}
    response = small.post("/Patient/$validate", json=many, headers=FHIR_JSON)
    refused(response, 413, "Parameters.parameter", "11 items")
    response = small.post("/Patient/$validate", json=sized_patient(61), headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements")


def test_update_and_conditional_update(small: httpx.Client) -> None:
    created = small.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    response = small.put(
        f"/Patient/{created['id']}", json={**sized_patient(61), "id": created["id"]}
    )
    refused(response, 413, None, "more than 60 elements")
    response = small.put("/Patient?identifier=x|1", json=sized_patient(61), headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements")
    assert small.get(f"/Patient/{created['id']}").json()["meta"]["versionId"] == "1"
    assert total(small, "Patient") == 1


def test_patch_document_and_its_result(small: httpx.Client) -> None:
    created = small.post("/Patient", json=sized_patient(50), headers=FHIR_JSON).json()
    url = f"/Patient/{created['id']}"
    long_patch = [{"op": "add", "path": "/gender", "value": "other"}] * 11
    response = small.patch(url, content=json.dumps(long_patch), headers=PATCH_JSON)
    refused(response, 413, None, "11 items")
    grows = [{"op": "add", "path": "/name/-", "value": {"given": ["G"] * 9}}]
    response = small.patch(url, content=json.dumps(grows), headers=PATCH_JSON)
    refused(response, 413, None, "more than 60 elements")
    # Each copy doubles the names: ten of them would make a million.
    doubling = [{"op": "copy", "from": "/name", "path": "/name/0"}] * 10
    response = small.patch(url, content=json.dumps(doubling), headers=PATCH_JSON)
    refused(response, 413, None, "more than 60 elements")
    # Stored, the Patient holds 54 values (its id and meta added): four more fit.
    fits = [{"op": "add", "path": "/name/-", "value": {"given": ["G"] * 2}}]
    response = small.patch(url, content=json.dumps(fits), headers=PATCH_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["versionId"] == "2"


def test_patch_entry_of_a_transaction(small: httpx.Client) -> None:
    created = small.post("/Patient", json=sized_patient(50), headers=FHIR_JSON).json()
    doubling = [{"op": "copy", "from": "/name", "path": "/name/0"}] * 10
    document = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(json.dumps(doubling).encode()).decode(),
    }
    patch_entry = {
        "resource": document,
        "request": {"method": "PATCH", "url": f"Patient/{created['id']}"},
    }
    response = small.post("", json=bundle(patch_entry, entry(patient())), headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements")
    # The document in the Binary is held to the limits of a body before it is parsed.
    heavy = {**document, "data": base64.b64encode(b"[" * 200 + b"]" * 200).decode()}
    response = small.post("", json=bundle({**patch_entry, "resource": heavy}), headers=FHIR_JSON)
    refused(response, 413, None, "200 objects and arrays", "limit is 190")
    assert small.get(f"/Patient/{created['id']}").json()["meta"]["versionId"] == "1"
    assert total(small, "Patient") == 1


# Search: values per parameter and parameters per search


def test_values_per_parameter(small: httpx.Client) -> None:
    assert small.get("/Patient", params={"name": "a,b,c,d"}).status_code == 200
    response = small.get("/Patient", params={"name": "a,b,c,d,e"})
    refused(response, 400, None, "'name' has more than 4 values")
    assert small.get("/Patient", params={"name": "a,b,c,d\\,e"}).status_code == 200
    for name in ("_id", "identifier", "organization.name", "_sort", "_elements"):
        response = small.get("/Patient", params={name: "a,b,c,d,e"})
        refused(response, 400, None, "more than 4 values")


def test_parameters_per_search(small: httpx.Client) -> None:
    six = [("name", "a")] * 6
    assert small.get("/Patient", params=six).status_code == 200
    response = small.get("/Patient", params=[("name", "a")] * 7)
    refused(response, 400, None, "7 parameters", "limit is 6")
    # A chain costs one per link, an _include one each.
    chained = [("name", "a")] * 4 + [("organization.name", "x")]
    assert small.get("/Patient", params=chained).status_code == 200
    response = small.get("/Patient", params=[*chained, ("_count", "5")])
    refused(response, 400, None, "7 parameters")
    includes = [("_include", "Patient:organization")] * 7
    refused(small.get("/Patient", params=includes), 400, None, "7 parameters")
    revincludes = [("_revinclude", "Observation:subject")] * 7
    refused(small.get("/Patient", params=revincludes), 400, None, "7 parameters")
    has = [("_has:Observation:subject:code", "x")] * 7
    refused(small.get("/Patient", params=has), 400, None, "7 parameters")


def test_post_search_form(small: httpx.Client) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = small.post("/Patient/_search", content="name=a,b,c,d&name=x", headers=form)
    assert response.status_code == 200, response.text
    response = small.post("/Patient/_search", content="name=a,b,c,d,e", headers=form)
    refused(response, 400, None, "more than 4 values")
    response = small.post("/Patient/_search", content="&".join(["name=a"] * 7), headers=form)
    refused(response, 400, None, "limit")
    # A form of millions of parameters is refused before it is split into them.
    response = small.post("/Patient/_search", content="a=1&" * 1_000_000, headers=form)
    refused(response, 400, None, "more than 6 parameters")
    response = small.post("/Patient/_search", content="name=" + "x" * 201, headers=form)
    refused(response, 400, None, "limit is 200")


def test_searches_inside_bundles_and_conditions(small: httpx.Client) -> None:
    search = {"request": {"method": "GET", "url": "Patient?name=a,b,c,d,e"}}
    response = small.post("", json=bundle(search, entry(patient())), headers=FHIR_JSON)
    refused(response, 400, None, "more than 4 values")
    assert total(small, "Patient") == 0
    response = small.post("", json=bundle(search, kind="batch"), headers=FHIR_JSON)
    assert response.status_code == 200
    outcome = response.json()["entry"][0]["response"]
    assert outcome["status"].startswith("400")
    assert "more than 4 values" in outcome["outcome"]["issue"][0]["diagnostics"]
    condition = {"If-None-Exist": "identifier=a,b,c,d,e", **FHIR_JSON}
    response = small.post("/Patient", json=patient(), headers=condition)
    refused(response, 400, None, "more than 4 values")
    reference = observation("Patient?identifier=" + ",".join("abcde"))
    response = small.post("", json=bundle(entry(reference)), headers=FHIR_JSON)
    refused(response, 400, None, "more than 4 values")
    assert total(small, "Patient") == 0


# The attacks, against the default limits


def test_a_million_item_bad_array_is_answered_small(client: httpx.Client) -> None:
    body = b'{"resourceType":"Patient","name":[' + b"1," * 999_999 + b"1]}"
    assert len(body) > 2_000_000
    response = client.post("/Patient", content=body, headers=FHIR_JSON)
    refused(response, 413, "Patient.name", "1,000,000 items", "limit is 1,000")
    assert total(client, "Patient") == 0


def test_many_bad_elements_give_a_capped_outcome(client: httpx.Client) -> None:
    bad = {"resourceType": "Patient", "name": [{"family": 1}] * 1000}
    response = client.post("/Patient", json=bad, headers=FHIR_JSON)
    assert response.status_code == 400
    assert len(response.content) < SMALL_RESPONSE
    issues = response.json()["issue"]
    assert len(issues) == 101
    assert issues[0]["expression"] == ["Patient.name[0].family"]
    assert issues[-1]["diagnostics"] == "... and 900 more issues"
    response = client.post("/Patient/$validate", json=bad, headers=FHIR_JSON)
    assert response.status_code == 200
    assert len(response.json()["issue"]) == 101


@pytest.mark.parametrize("levels", [500, 10_000])
def test_deep_nesting_is_a_4xx(client: httpx.Client, levels: int) -> None:
    body = b'{"resourceType":"Patient","extension":' + b"[" * levels + b"]" * levels + b"}"
    response = client.post("/Patient", content=body, headers=FHIR_JSON)
    assert response.status_code in (400, 413), response.text
    assert len(response.content) < SMALL_RESPONSE
    assert response.json()["resourceType"] == "OperationOutcome"
    deep = [{"op": "add", "path": "/x", "value": json.loads("[" * 500 + "]" * 500)}]
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    response = client.patch(
        f"/Patient/{created['id']}", content=json.dumps(deep), headers=PATCH_JSON
    )
    refused(response, 413, None, "nested deeper than the limit of 64")
    assert total(client, "Patient") == 1


def test_a_huge_valid_patient_is_refused_and_nothing_stored(client: httpx.Client) -> None:
    huge = patient(name=[{"given": ["A"]}] * 1_000_000)
    body = json.dumps(huge, separators=(",", ":")).encode()
    assert len(body) > 15_000_000
    response = client.post("/Patient", content=body, headers=FHIR_JSON)
    # Two million objects and arrays: refused before they are parsed.
    refused(response, 413, None, "2,000,004 objects and arrays", "limit is 100,000")
    wide = patient(name=[{"family": "V", "given": ["A"] * 100}] * 1000)
    response = client.post("/Patient", json=wide, headers=FHIR_JSON)
    refused(response, 413, None, "more than 20,000 elements", "one Patient")
    assert total(client, "Patient") == 0


def test_many_ored_values_and_repeated_parameters_are_400(client: httpx.Client) -> None:
    values = ",".join(f"n{i}" for i in range(600))
    refused(client.get("/Patient", params={"name": values}), 400, None, "more than 100 values")
    repeated = [("name", "x")] * 1000
    refused(client.get("/Patient", params=repeated), 400, None, "1,000 parameters")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/Patient/_search", content=f"name={values}", headers=form)
    refused(response, 400, None, "more than 100 values")


def test_the_most_a_search_may_hold_runs(client: httpx.Client) -> None:
    client.post("/Patient", json=patient(family="n99"), headers=FHIR_JSON)
    values = ",".join(f"n{i}" for i in range(100))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    content = "&".join([f"name={values}"] * 50)
    response = client.post("/Patient/_search", content=content, headers=form)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 1


def test_a_refused_body_leaves_the_writer_free(small: httpx.Client) -> None:
    created = small.post("/Patient", json=sized_patient(50), headers=FHIR_JSON).json()
    over = bundle(*(entry(sized_patient(58)) for _ in range(3)), entry(patient()))
    refused(small.post("", json=over, headers=FHIR_JSON), 413, "Bundle.entry")
    assert small.post("/Patient", json=patient(), headers=FHIR_JSON).status_code == 201
    # A patch is refused inside its unit of work, which is rolled back and let go.
    doubling = [{"op": "copy", "from": "/name", "path": "/name/0"}] * 10
    url = f"/Patient/{created['id']}"
    refused(small.patch(url, content=json.dumps(doubling), headers=PATCH_JSON), 413, None)
    response = small.put(url, json={**patient(), "id": created["id"]}, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["versionId"] == "2"


# Signed in: the limits hold alike, and refusing for size tells nothing of what is hidden


@pytest.fixture
def citizen(small: httpx.Client, clean: Backend) -> Iterator[tuple[httpx.Client, str]]:
    """A citizen's client of the small-limits server, and another citizen's Patient id."""
    mine = small.post("/Patient", json=patient(mrn="1"), headers=FHIR_JSON).json()["id"]
    other = small.post("/Patient", json=patient(mrn="2"), headers=FHIR_JSON).json()["id"]
    ctx = AuthContext(
        subject="acct-aino",
        client_id="app",
        patient=f"Patient/{mine}",
        scopes=frozenset({"patient/*.cruds"}),
    )

    async def provide(_request: Request) -> AuthContext:
        return ctx

    port = free_port()
    app = create_app(make_settings(clean.url, port, **SMALL), clean.database)
    app.dependency_overrides[auth_context] = provide
    with LiveServer(app, port) as server, httpx.Client(base_url=server.url + "/fhir") as http:
        yield http, other


def test_a_citizen_meets_the_same_limits(citizen: tuple[httpx.Client, str]) -> None:
    http, _other = citizen
    assert http.get("/Observation", params={"code": "a,b,c,d"}).status_code == 200
    refused(http.get("/Observation", params={"code": "a,b,c,d,e"}), 400, None, "more than 4")
    refused(http.get("/Observation", params=[("code", "a")] * 7), 400, None, "7 parameters")
    response = http.post("/Patient", json=sized_patient(61), headers=FHIR_JSON)
    refused(response, 413, None, "more than 60 elements")


def test_a_size_refusal_does_not_tell_hidden_from_absent(citizen: tuple[httpx.Client, str]) -> None:
    http, other = citizen
    long_patch = json.dumps([{"op": "add", "path": "/gender", "value": "other"}] * 11)
    doubling = json.dumps([{"op": "copy", "from": "/name", "path": "/name/0"}] * 10)
    for target in (other, "no-such-patient"):
        response = http.patch(f"/Patient/{target}", content=long_patch, headers=PATCH_JSON)
        refused(response, 413, None, "11 items")
        response = http.patch(f"/Patient/{target}", content=doubling, headers=PATCH_JSON)
        assert response.status_code == 404, response.text


@pytest.mark.parametrize(
    "overrides", ["component=5", "Observation.component", "Observation.component=many"]
)
def test_overrides_that_do_not_parse_stop_the_start(overrides: str) -> None:
    settings = make_settings("sqlite://", 0, array_item_overrides=overrides)
    with pytest.raises(ValueError, match=r"Type\.element=items"):
        limits_from(settings)


def test_overrides_name_their_elements() -> None:
    settings = make_settings("sqlite://", 0, array_item_overrides=" Group.member = 20000 ")
    bounds = limits_from(settings)
    assert bounds.items_of("Group.member") == 20000
    assert bounds.items_of("Bundle.entry") == settings.max_bundle_entries
    assert bounds.items_of("Patient.name") == settings.max_array_items
