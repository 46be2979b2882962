"""A value of the wrong JSON type is a 400 OperationOutcome that names its element, wherever
it is sent: a resource, a Bundle entry, an operation's Parameters, an OAuth form."""

from typing import Any

import httpx
import pytest

from tests.factories import FHIR_JSON, patient
from tests.fuzzing import deeply_nested

# Nested within the depth limit, which refuses deeper bodies before their types are read.
WRONG = [None, True, 0, 1.5, "x", [], [{}], deeply_nested(20)]


def refused(response: httpx.Response, expression: str) -> None:
    assert response.status_code == 400, response.text
    issues = response.json()["issue"]
    assert any(expression in i.get("expression", []) for i in issues), issues


def parameters(*parameter: Any) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameter)}


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/DiagnosticReport/r1/$withhold", "reason"),
        ("/Appointment/$book", "slot"),
        ("/Appointment/$hold", "patient-id"),
        ("/Appointment/$find", "practitioner"),
    ],
)
def test_an_operation_refuses_a_value_that_is_no_object(
    client: httpx.Client, url: str, name: str
) -> None:
    for key in ("valueReference", "valueCoding", "valueCodeableConcept"):
        for wrong in WRONG:
            body = parameters({"name": name, key: wrong})
            response = client.post(url, json=body, headers=FHIR_JSON)
            refused(response, f"Parameters.parameter[0].{key}")


@pytest.mark.parametrize("url", ["/Patient/$validate", "/Appointment/$book"])
def test_parameters_that_are_no_objects_are_refused(client: httpx.Client, url: str) -> None:
    for wrong in WRONG:
        body = parameters({"name": "mode", "valueCode": "create"}, wrong)
        refused(client.post(url, json=body, headers=FHIR_JSON), "Parameters.parameter[1]")
    for wrong in (True, 1.5, "x", {}):
        body = {"resourceType": "Parameters", "parameter": wrong}
        refused(client.post(url, json=body, headers=FHIR_JSON), "Parameters.parameter")


@pytest.mark.parametrize(
    ("element", "wrong", "expression"),
    [
        ("birthDate", 19660404, "Patient.birthDate"),
        ("deceasedDateTime", 0, "Patient.deceasedDateTime"),
        ("active", "true", "Patient.active"),
        ("active", 1, "Patient.active"),
        ("multipleBirthInteger", "3", "Patient.multipleBirthInteger"),
        ("multipleBirthInteger", True, "Patient.multipleBirthInteger"),
        ("name", [{"given": ["Aino", 5]}], "Patient.name[0].given[1]"),
    ],
)
def test_a_primitive_of_the_wrong_json_type_is_refused(
    client: httpx.Client, element: str, wrong: Any, expression: str
) -> None:
    """FHIR JSON gives each primitive one JSON type (json.html#primitive); the R4B models
    would convert "true" and numbers for dates, and store what FHIR forbids."""
    body = patient(**{element: wrong})
    refused(client.post("/Patient", json=body, headers=FHIR_JSON), expression)
    assert client.get("/Patient").json()["total"] == 0


def test_a_number_where_a_date_belongs_in_a_booking_is_refused(client: httpx.Client) -> None:
    appointment = {
        "resourceType": "Appointment",
        "status": "proposed",
        "start": 1.5,
        "end": "2030-01-07T10:20:00Z",
        "participant": [{"actor": {"reference": "Practitioner/p1"}, "status": "needs-action"}],
    }
    body = parameters({"name": "appt-resource", "resource": appointment})
    refused(client.post("/Appointment/$book", json=body, headers=FHIR_JSON), "Appointment.start")
    assert client.get("/Appointment").json()["total"] == 0


def test_a_proposed_appointment_of_the_wrong_shape_is_refused(client: httpx.Client) -> None:
    for element in ("participant", "slot"):
        for wrong in ("x", 1, True, {}, ["x"], [[]]):
            appointment = {"resourceType": "Appointment", "status": "proposed", element: wrong}
            body = parameters({"name": "appt-resource", "resource": appointment})
            response = client.post("/Appointment/$hold", json=body, headers=FHIR_JSON)
            refused(response, f"Appointment.{element}")


def test_a_participant_whose_actor_is_no_object_is_refused(client: httpx.Client) -> None:
    appointment = {"resourceType": "Appointment", "participant": [{"actor": "Patient/1"}]}
    body = parameters({"name": "appt-resource", "resource": appointment})
    response = client.post("/Appointment/$book", json=body, headers=FHIR_JSON)
    refused(response, "Appointment.participant[0].actor")


@pytest.mark.parametrize(
    "element", ["request.method", "request.ifNoneExist", "request.ifMatch", "fullUrl"]
)
def test_a_bundle_entry_element_of_the_wrong_type_is_refused(
    client: httpx.Client, element: str
) -> None:
    parent, _, name = element.rpartition(".")
    for wrong in (True, 0, 1.5, [], ["POST"], {}, {"POST": 1}):
        entry: dict[str, Any] = {
            "fullUrl": "urn:uuid:3c1c8a1b-0000-4000-8000-000000000001",
            "resource": patient(),
            "request": {"method": "POST", "url": "Patient"},
        }
        (entry[parent] if parent else entry)[name] = wrong
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        refused(client.post("", json=bundle, headers=FHIR_JSON), f"Bundle.entry[0].{element}")
    assert client.get("/Patient").json()["total"] == 0


def test_a_patch_entry_whose_data_is_no_string_is_refused(client: httpx.Client) -> None:
    patient_id = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()["id"]
    for wrong in (1, True, [], {}, ["W3t9"]):
        binary = {"resourceType": "Binary", "contentType": "application/json-patch+json"}
        entry = {
            "resource": binary | {"data": wrong},
            "request": {"method": "PATCH", "url": f"Patient/{patient_id}"},
        }
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
        response = client.post("", json=bundle, headers=FHIR_JSON)
        refused(response, "Bundle.entry[0].resource.data")


def test_a_search_by_a_number_where_a_date_belongs_is_refused(client: httpx.Client) -> None:
    body = parameters({"name": "start", "valueInteger": 5}, {"name": "end", "valueDecimal": 1.5})
    response = client.post("/Appointment/$find", json=body, headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
