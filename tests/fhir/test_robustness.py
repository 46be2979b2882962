"""Malformed resources and search parameters get a 4xx OperationOutcome, never a 500.

The official examples are mutated at random (seeded, so every run sends the same requests):
elements dropped, replaced by values of the wrong JSON type, nulls, huge numbers, NUL
characters, long strings. Searches combine every search parameter of a type with modifiers
and values that are wrong for it. Nothing a client sends may crash the server.
"""

import copy
import json
import random
from typing import Any

import httpx

from medsvc.fhir.definitions import get_definitions
from tests.conftest import EXAMPLES
from tests.factories import FHIR_JSON

ODD_VALUES: list[Any] = [
    None,
    "",
    "\x00",
    "ü" * 3000,
    10**30,
    -1,
    1.5e308,
    True,
    [],
    {},
    [None],
    {"a": None},
    "2030-13-45",
    "0000-01-01",
    "Patient/",
    "urn:uuid:x",
    "#",
    "1e999",
    "Patient?identifier=",
]
MODIFIERS = [
    "",
    ":missing",
    ":not",
    ":exact",
    ":contains",
    ":identifier",
    ":Patient",
    ":x",
    ".name",
]
SEARCH_VALUES = [
    "",
    "x",
    "ge2030",
    "lt2030-01-01T00:00:00Z",
    "eq1.5",
    "ap5",
    "a|b",
    "|b",
    "a|",
    "Patient/1",
    "http://x/Patient/1",
    "true",
    "1e400",
    "10||mg",
    "2030-02-30",
    "ü" * 300,
    "a,b,,c",
    "le9999-99",
]


def mutate(node: Any, rnd: random.Random) -> None:
    if isinstance(node, dict) and node:
        key = rnd.choice(list(node))
        choice = rnd.random()
        if choice < 0.3 and key != "resourceType":
            del node[key]
        elif choice < 0.6:
            node[key] = rnd.choice(ODD_VALUES)
        elif choice < 0.7:
            node["_" + key] = rnd.choice(ODD_VALUES)
        else:
            mutate(node[key], rnd)
    elif isinstance(node, list) and node:
        index = rnd.randrange(len(node))
        if rnd.random() < 0.5:
            node[index] = rnd.choice(ODD_VALUES)
        else:
            mutate(node[index], rnd)


def assert_handled(response: httpx.Response, sent: str) -> None:
    assert response.status_code < 500, (sent[:500], response.text[:500])
    if response.status_code >= 400 and response.status_code != 410:
        assert response.json()["resourceType"] == "OperationOutcome", sent[:500]


def test_mutated_resources_are_refused_cleanly(client: httpx.Client) -> None:
    rnd = random.Random(20261129)
    examples = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    for n in range(400):
        resource = copy.deepcopy(rnd.choice(examples))
        resource_type = resource["resourceType"]
        resource.pop("id", None)
        for _ in range(rnd.randint(1, 5)):
            mutate(resource, rnd)
        body = json.dumps(resource)
        if n % 3 == 0:
            entry = {"resource": resource, "request": {"method": "POST", "url": resource_type}}
            bundle = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry]})
            assert_handled(client.post("/", content=bundle, headers=FHIR_JSON), bundle)
        elif n % 3 == 1:
            response = client.put(f"/{resource_type}/r{n}", content=body, headers=FHIR_JSON)
            assert_handled(response, body)
        else:
            assert_handled(client.post(f"/{resource_type}", content=body, headers=FHIR_JSON), body)


def test_odd_search_parameters_are_refused_cleanly(client: httpx.Client) -> None:
    rnd = random.Random(11292026)
    definitions = get_definitions()
    searchable = [d for d in definitions.resources.values() if d.params]
    for _ in range(300):
        definition = rnd.choice(searchable)
        params = list(definition.params.values())
        query = [
            (rnd.choice(params).code + rnd.choice(MODIFIERS), rnd.choice(SEARCH_VALUES))
            for _ in range(rnd.randint(1, 3))
        ]
        headers = {"Prefer": "handling=strict"} if rnd.random() < 0.3 else {}
        response = client.get(f"/{definition.type}", params=query, headers=headers)
        assert_handled(response, f"{definition.type} {query}")
