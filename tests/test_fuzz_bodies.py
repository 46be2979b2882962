"""Every route and $operation of the app, sent type-confused bodies, answers below 500.

The routes are read from the running app and the operations from its registry, with their
OperationDefinitions, so what is added later is walked too. Valid bodies (the official
examples, Parameters built from each OperationDefinition, the OAuth forms) get each position
replaced by a value of each wrong JSON type; form routes also get bodies that are no form.
A refusal is an OperationOutcome, or RFC 6749 JSON on the OAuth endpoints (section 5.2).
Sampling is seeded: every run sends the same requests.
"""

import base64
import json
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.routing import Route

from medsvc.fhir.registry import Operation
from tests.conftest import EXAMPLES, LiveServer
from tests.factories import FHIR_JSON, patient
from tests.fuzzing import Case, confused, wrong_values
from tests.scheduling.clinic import citizen_context
from tests.security.conftest import acting_as

__all__ = ["acting_as"]
SEED = 20261207
OWN_EXAMPLES = Path(__file__).parent.parent / "fhir_profiles" / "examples"
PER_BODY = 4  # variants of each valid body
CHOICES = 0.08  # the share of (parameter, value[x], wrong type) sent to each operation
ANY_TYPE = frozenset({"Patient", "Appointment", "Observation"})
FORM = "application/x-www-form-urlencoded"
FHIR_PREFIX = "/fhir/{path:path}"
# The choice of a parameter's value (Parameters.parameter.value[x]) and its resource.
VALUE_KEYS = ("valueReference", "valueCoding", "valueCodeableConcept", "valueString", "resource")
TYPE_VALUES: dict[str, tuple[str, Any]] = {
    "string": ("valueString", "x"),
    "dateTime": ("valueDateTime", "2030-01-07T10:00:00Z"),
    "integer": ("valueInteger", 5),
    "boolean": ("valueBoolean", True),
    "code": ("valueCode", "create"),
    "canonical": ("valueCanonical", "http://example.org/fhir/StructureDefinition/x"),
}
NOT_A_FORM = [b"\xff\xfe\x00", b"a=%ff%fe", b"&&==&", b"=", b"x" * 70_000, b'{"a": [1]}']
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORMS = {
    "/auth/token": {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE},
    "/auth/revoke": {"token": "x", "token_type_hint": "access_token", "client_id": "x"},
    "/auth/introspect": {"token": "x", "client_id": "x"},
    "/auth/authorize": {"response_type": "code", "client_id": "x", "username": "u"},
    "/auth/signup": {"response_type": "code", "client_id": "x", "name": "n", "phone": "1"},
    "/auth/code": {"response_type": "code", "client_id": "x", "phone": "13800138000"},
    "/auth/choose": {"choice": "x", "patient": "myself"},
}
# The authorization server's pages (sign-in, sign-up, the phone-code flows, another service's
# sign-in, the patient picker) and the app's: answered in HTML, for a person's browser.
PAGES = (
    "/auth/authorize",
    "/auth/signup",
    "/auth/code",
    "/auth/password",
    "/auth/oidc/",
    "/auth/choose",
    "/app/",
)
# HTTP Basic client credentials (RFC 6749 section 2.3.1) that decode to nothing usable.
ODD_BASIC = ["Basic %00", "Basic " + base64.b64encode(b"%00:x").decode(), "Basic !!!", "Basic"]
# A client assertion's JOSE header and claims (RFC 7523 section 3), read before its signature.
ASSERTION = {
    "header": {"alg": "RS384", "kid": "k1", "typ": "JWT"},
    "claims": {"iss": "x", "sub": "x", "aud": "http://x/auth/token", "jti": "j", "exp": 1},
}


def examples(rnd: random.Random) -> dict[str, dict[str, Any]]:
    """One official example of each resource type, or the service's own where it has one
    (its extensions are read by its own code)."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_text())
        by_type.setdefault(resource["resourceType"], []).append(resource)
    chosen = {kind: rnd.choice(found) for kind, found in sorted(by_type.items())}
    for path in sorted(OWN_EXAMPLES.glob("*.json")):
        resource = json.loads(path.read_text())
        chosen[resource["resourceType"]] = resource
    return chosen


def every_method_batch(samples: dict[str, Any], ids: Callable[[str], str]) -> dict[str, Any]:
    """A batch with an entry of each method a Bundle may carry (http.html#transaction)."""
    patch = [{"op": "replace", "path": "/active", "value": False}]
    data = base64.b64encode(json.dumps(patch).encode()).decode()
    binary = {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data}
    patient_url = f"Patient/{ids('Patient')}"
    requests = [
        ("POST", "Patient", samples["Patient"]),
        ("PUT", patient_url, {**samples["Patient"], "id": ids("Patient")}),
        ("PATCH", patient_url, binary),
        ("GET", "Patient?_count=1", None),
        ("DELETE", "Observation?code=x", None),
    ]
    entries = [
        {"request": {"method": method, "url": url}} | ({"resource": body} if body else {})
        for method, url, body in requests
    ]
    return {"resourceType": "Bundle", "type": "batch", "entry": entries}


def created(client: httpx.Client, resource: dict[str, Any]) -> str:
    """The id of the resource as stored, or an id nobody has (a refused example)."""
    body = {k: v for k, v in resource.items() if k != "id"}
    response = client.post(f"/{resource['resourceType']}", json=body, headers=FHIR_JSON)
    return str(response.json()["id"]) if response.status_code == 201 else "fuzz-missing"


def _input_value(parameter: dict[str, Any], samples: dict[str, dict[str, Any]]) -> Any:
    kind = parameter.get("type", "string")
    if kind in TYPE_VALUES:
        key, value = TYPE_VALUES[kind]
        return {"name": parameter["name"], key: value}
    return {"name": parameter["name"], "resource": samples.get(kind, samples["Patient"])}


def parameters_of(operation: Operation, samples: dict[str, dict[str, Any]]) -> list[Any]:
    """Valid Parameters bodies: every input parameter at once, and each one alone."""
    inputs = [
        _input_value(p, samples)
        for p in operation.definition.resource.get("parameter", [])
        if p.get("use") == "in"
    ]
    bodies = [{"resourceType": "Parameters", "parameter": inputs}]
    bodies += [{"resourceType": "Parameters", "parameter": [i]} for i in inputs if len(inputs) > 1]
    return bodies


def choice_confused(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each parameter's value given under each value[x] key, with each wrong JSON type."""
    for index, parameter in enumerate(body["parameter"]):
        for key in VALUE_KEYS:
            for wrong in wrong_values(None):
                changed = json.loads(json.dumps(body))
                changed["parameter"][index] = {"name": parameter["name"], key: wrong}
                yield changed


def operation_urls(operation: Operation, ids: Callable[[str], str]) -> list[str]:
    types = operation.types or ANY_TYPE  # an operation on every type: tried on a few
    urls = [f"/fhir/${operation.name}"] if "system" in operation.levels else []
    for kind in sorted(types):
        if "type" in operation.levels:
            urls.append(f"/fhir/{kind}/${operation.name}")
        if "instance" in operation.levels:
            urls.append(f"/fhir/{kind}/{ids(kind)}/${operation.name}")
    return urls


def operation_cases(
    app: FastAPI,
    rnd: random.Random,
    samples: dict[str, Any],
    ids: Callable[[str], str],
    per_body: int = PER_BODY,
) -> list[Case]:
    """Each $operation at each of its levels, with confused Parameters (CHOICES of the
    value[x] confusions besides)."""
    cases = []
    for name in sorted(app.state.fhir.registry.operations):
        operation = app.state.fhir.registry.operations[name]
        for url in operation_urls(operation, ids):
            for body in parameters_of(operation, samples):
                variants = confused(body, rnd, per_body, must=(("parameter",),))
                variants += [v for v in choice_confused(body) if rnd.random() < CHOICES]
                cases += [Case.of_json("POST", url, v) for v in variants]
    return cases


def resource_cases(rnd: random.Random, samples: dict[str, Any], ids: Callable[[str], str]):
    """Create, update, patch, transaction entry and POST _search of each type."""
    cases = []
    for kind, resource in samples.items():
        entry = {"resource": resource, "request": {"method": "POST", "url": kind}}
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        patch = [{"op": "replace", "path": "/id", "value": ids(kind)}]
        for method, url, body, must in (
            ("POST", f"/fhir/{kind}", resource, ()),
            ("PUT", f"/fhir/{kind}/{ids(kind)}", {**resource, "id": ids(kind)}, ()),
            ("POST", "/fhir", bundle, (("entry", 0, "request"),)),
        ):
            cases += [Case.of_json(method, url, v) for v in confused(body, rnd, PER_BODY, must)]
        for variant in confused(patch, rnd, PER_BODY):
            media = "application/json-patch+json"
            cases.append(Case.of_json("PATCH", f"/fhir/{kind}/{ids(kind)}", variant, media))
        cases += not_a_form(f"/fhir/{kind}/_search", rnd)
    batch = every_method_batch(samples, ids)
    entries = tuple(("entry", i) for i in range(len(batch["entry"])))
    cases += [Case.of_json("POST", "/fhir", v) for v in confused(batch, rnd, PER_BODY, entries)]
    return cases


def not_a_form(url: str, rnd: random.Random) -> list[Case]:
    """What a form route gets instead of its form: JSON of every type, bytes that decode to
    no form, under the form's own media type and others."""
    cases = [Case.of_json("POST", url, wrong, FORM) for wrong in wrong_values("x")]
    cases += [Case("POST", url, raw, FORM) for raw in NOT_A_FORM]
    cases += [Case.of_json("POST", url, {"a": "b"}, "application/json")]
    return rnd.sample(cases, 6)


def encoded(form: Any) -> bytes:
    return str(httpx.QueryParams(form)).encode()


def form_cases(url: str, rnd: random.Random) -> list[Case]:
    form = FORMS.get(url, {"x": "y"})
    cases = []
    for name in form:
        for odd in ("", "\x00", "ü" * 2000, "[]", "{}", "%ff"):
            cases.append(Case("POST", url, encoded({**form, name: odd}), FORM))
        cases.append(Case("POST", url, encoded([*form.items(), (name, form[name])]), FORM))
    cases = rnd.sample(cases, min(len(cases), PER_BODY)) + not_a_form(url, rnd)
    return cases + [Case("POST", url, encoded(form), FORM, basic) for basic in ODD_BASIC]


def _base64url(part: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def assertion_cases(rnd: random.Random) -> list[Case]:
    """Token requests whose client assertion has a type-confused header or claim."""
    cases = []
    for variant in confused(ASSERTION, rnd, PER_BODY, must=(("header",), ("claims",))):
        parts = [variant.get("header"), variant.get("claims")] if isinstance(variant, dict) else []
        jwt = ".".join([*(_base64url(p) for p in parts), "c2lnbmF0dXJl"])
        form = {**FORMS["/auth/token"], "client_assertion": jwt}
        cases.append(Case("POST", "/auth/token", encoded(form), FORM))
    return cases


def route_cases(app: FastAPI, rnd: random.Random) -> list[Case]:
    """Every route outside the FHIR REST endpoint, with path parameters filled in."""
    cases = []
    for route in app.routes:
        if not isinstance(route, Route) or route.path in (FHIR_PREFIX, "/fhir"):
            continue
        url = re.sub(r"\{[^}]*\}", "x", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if method == "POST":
                cases += form_cases(url, rnd)
            else:
                cases += [Case.of_json(method, url, w) for w in wrong_values({})[:3]]
    return cases


def problem(http: httpx.Client, case: Case) -> str | None:
    """What is wrong with the answer to the case, or None when it is a clean one."""
    response = http.request(case.method, case.url, content=case.body, headers=case.headers)
    status, kind = response.status_code, response.headers.get("content-type", "")
    if status >= 500:
        return f"{status} for {case.describe()}: {response.text[:300]}"
    if status < 400:
        return None
    if case.url.startswith(PAGES):  # a page for the person's browser
        clean = kind.startswith("text/html")
    elif case.url.startswith("/auth/"):
        clean = kind.startswith("application/json") and "error" in response.json()
    else:
        clean = "json" in kind and response.json().get("resourceType") == "OperationOutcome"
    return None if clean else f"{status} {kind} for {case.describe()}: {response.text[:300]}"


def walk(root: str, cases: list[Case]) -> None:
    with httpx.Client(base_url=root, timeout=30) as http:
        problems = [found for case in cases if (found := problem(http, case))]
    assert not problems, f"{len(problems)} of {len(cases)} answers:\n" + "\n".join(problems)


def _seeded(client: httpx.Client, samples: dict[str, Any]) -> Callable[[str], str]:
    found: dict[str, str] = {}

    def ids(kind: str) -> str:
        if kind not in found:
            found[kind] = created(client, samples[kind]) if kind in samples else "fuzz-missing"
        return found[kind]

    return ids


def test_every_route_refuses_type_confused_bodies_cleanly(
    client: httpx.Client, live_server: LiveServer
) -> None:
    rnd = random.Random(SEED)
    app: FastAPI = live_server.server.config.app
    samples = examples(rnd)
    ids = _seeded(client, samples)
    cases = route_cases(app, rnd) + assertion_cases(rnd) + resource_cases(rnd, samples, ids)
    cases += operation_cases(app, rnd, samples, ids)
    walk(live_server.url, cases)


def test_a_citizen_gets_clean_refusals_of_confused_bodies(
    client: httpx.Client, live_server: LiveServer, acting_as: Callable[..., httpx.Client]
) -> None:
    rnd = random.Random(SEED + 1)
    app: FastAPI = live_server.server.config.app
    citizen = acting_as(citizen_context(created(client, patient())))
    samples = examples(rnd)
    ids = _seeded(client, samples)
    appointments = {"Appointment": samples["Appointment"], "Patient": samples["Patient"]}
    cases = resource_cases(rnd, appointments, ids)
    cases += operation_cases(app, rnd, samples, ids, per_body=2)
    root = str(citizen.base_url).rstrip("/").removesuffix("/fhir")
    walk(root, cases)
