"""The CapabilityStatement says what the server really does."""

import httpx

from medsvc.fhir.definitions import get_definitions
from tests.factories import FHIR_JSON

IN_SCOPE = {
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "HealthcareService",
    "Schedule",
    "Slot",
    "Appointment",
    "AppointmentResponse",
    "ServiceRequest",
    "Specimen",
    "DiagnosticReport",
    "Observation",
    "DocumentReference",
    "Communication",
    "Provenance",
    "CareTeam",  # the care relationship a hospital records (docs/security.md)
    "RelatedPerson",  # a proxy's FHIR face (docs/identity.md)
    "AuditEvent",
    "Subscription",
    "SubscriptionTopic",  # served by the subscriptions' own routes, beside the store
    "Binary",
}


def test_metadata_lists_types_interactions_and_parameters(
    client: httpx.Client, base_url: str
) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.3.0"
    assert statement["implementation"]["url"] == base_url
    rest = statement["rest"][0]
    resources = {r["type"]: r for r in rest["resource"]}
    assert set(resources) == IN_SCOPE
    slot = resources["Slot"]
    assert {i["code"] for i in slot["interaction"]} >= {
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "create",
        "search-type",
        "history-instance",
        "history-type",
    }
    params = {p["name"]: p["type"] for p in slot["searchParam"]}
    assert params["schedule"] == "reference"
    assert params["start"] == "date"
    assert params["_lastUpdated"] == "date"
    assert "Slot:schedule" in slot["searchInclude"]
    assert "Appointment:slot" in slot["searchRevInclude"]
    assert {
        "name": "validate",
        "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    } in slot["operation"]
    assert {i["code"] for i in resources["Binary"]["interaction"]} == {
        "create",
        "read",
        "vread",
        "update",
    }
    assert {i["code"] for i in rest["interaction"]} == {"transaction", "batch"}


def test_types_listed_in_the_source_statement_keep_only_their_interactions(
    client: httpx.Client,
) -> None:
    """fhir_profiles/CapabilityStatement-medsvc.json limits AuditEvent to reads: the server
    records them itself. What it lists is what /metadata advertises and what the API does."""
    resources = {r["type"]: r for r in client.get("/metadata").json()["rest"][0]["resource"]}
    audit = resources["AuditEvent"]
    assert {i["code"] for i in audit["interaction"]} == {
        "read",
        "vread",
        "history-instance",
        "history-type",
        "search-type",
    }
    assert "only read" in audit["documentation"]
    assert "documentation" not in resources["Slot"]
    event = {"resourceType": "AuditEvent", "id": "x", "recorded": "2026-01-01T00:00:00Z"}
    writes = [
        client.post("/AuditEvent", json=event, headers=FHIR_JSON),
        client.put("/AuditEvent/x", json=event, headers=FHIR_JSON),
        client.delete("/AuditEvent/x"),
        client.get("/Binary", params={"_id": "x"}),
    ]
    for response in writes:
        assert response.status_code == 405, response.text
        assert response.json()["resourceType"] == "OperationOutcome"


def test_every_advertised_parameter_is_searchable(client: httpx.Client) -> None:
    for resource in client.get("/metadata").json()["rest"][0]["resource"]:
        for param in resource.get("searchParam", []):
            response = client.get(
                f"/{resource['type']}",
                params={f"{param['name']}:missing": "true"},
                headers={"Prefer": "handling=strict"},
            )
            assert response.status_code in (200, 400), (resource["type"], param["name"])
            if response.status_code == 400:
                assert param["name"] == "_id"


def test_declared_search_parameters_come_from_fhir_profiles() -> None:
    definitions = get_definitions()
    slot = definitions.resources["Slot"]
    assert slot.params["start"].url == "http://hl7.org/fhir/SearchParameter/Slot-start"
    assert "end" not in slot.params  # R4B Slot has no end parameter
    schedule = definitions.resources["Schedule"]
    assert schedule.params["date"].expression == "Schedule.planningHorizon"
