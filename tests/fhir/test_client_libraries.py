"""A standard FHIR client library (SMART on FHIR's fhirclient) drives the running server.

fhirclient 4.x models are R4 (4.0.1); the resources and elements used here are the same in R4B.
Its models parse strictly, so every response read through them must hold only valid elements.
"""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from fhirclient import client as fhir_client
from fhirclient.models import bundle as b
from fhirclient.models import codeableconcept as cc
from fhirclient.models import coding as cd
from fhirclient.models import fhirinstant as fi
from fhirclient.models import fhirreference as fr
from fhirclient.models import humanname as hn
from fhirclient.models import identifier as ident
from fhirclient.models import observation as o
from fhirclient.models import patient as p
from fhirclient.models import practitioner as pr
from fhirclient.models import quantity as q
from fhirclient.models import schedule as sc
from fhirclient.models import slot as sl
from fhirclient.server import FHIRNotFoundException, FHIRServer

from tests.conftest import Backend, LiveServer


@pytest.fixture
def smart(live_server: LiveServer, clean: Backend) -> Iterator[fhir_client.FHIRClient]:
    settings = {"app_id": "medsvc-tests", "api_base": live_server.url + "/fhir"}
    smart = fhir_client.FHIRClient(settings=settings)
    try:
        yield smart
    finally:
        smart.server.session.close()


@pytest.fixture
def server(smart: fhir_client.FHIRClient) -> FHIRServer:
    return smart.server


def reference(text: str) -> fr.FHIRReference:
    ref = fr.FHIRReference()
    ref.reference = text
    return ref


def new_patient(mrn: str, family: str) -> p.Patient:
    patient = p.Patient()
    identifier = ident.Identifier()
    identifier.system = "urn:oid:1.2.246.21"
    identifier.value = mrn
    patient.identifier = [identifier]
    name = hn.HumanName()
    name.family = family
    name.given = ["Aino"]
    patient.name = [name]
    patient.gender = "female"
    return patient


def new_practitioner(code: str, family: str) -> pr.Practitioner:
    practitioner = pr.Practitioner()
    identifier = ident.Identifier()
    identifier.system = "urn:city:practitioner"
    identifier.value = code
    practitioner.identifier = [identifier]
    name = hn.HumanName()
    name.family = family
    name.given = ["Mikko"]
    practitioner.name = [name]
    return practitioner


def location_id(location: str, resource_type: str) -> str:
    """The id in a transaction-response location such as [base/]Patient/1/_history/1."""
    match = re.fullmatch(rf"(?:.*/)?{resource_type}/([A-Za-z0-9\-.]{{1,64}})/_history/1", location)
    assert match, location
    return match[1]


def created_id(response: dict | None) -> str:
    assert response is not None
    assert response["meta"]["versionId"] == "1"
    return str(response["id"])


def test_prepare_reads_the_capability_statement(smart: fhir_client.FHIRClient) -> None:
    smart.prepare()
    statement = smart.server.capabilityStatement
    assert statement is not None
    assert statement.fhirVersion == "4.3.0"
    assert statement.rest[0].mode == "server"
    assert statement.rest[0].security.service[0].coding[0].code == "SMART-on-FHIR"
    assert smart.server.auth._token_uri.endswith("/auth/token")  # found in the oauth-uris
    assert smart.server.auth._authorize_uri.endswith("/auth/authorize")
    types = {resource.type for resource in statement.rest[0].resource}
    assert {"Patient", "Practitioner", "Slot", "Schedule", "Observation"} <= types


def test_create_and_read(server: FHIRServer) -> None:
    patient_id = created_id(new_patient("12345", "Virtanen").create(server))
    practitioner_id = created_id(new_practitioner("p1", "Korhonen").create(server))

    patient = p.Patient.read(patient_id, server)
    assert patient.id == patient_id
    assert patient.meta.versionId == "1"
    assert patient.name[0].family == "Virtanen"
    assert patient.name[0].given == ["Aino"]
    assert patient.gender == "female"
    assert patient.identifier[0].value == "12345"

    practitioner = pr.Practitioner.read(practitioner_id, server)
    assert practitioner.id == practitioner_id
    assert practitioner.name[0].family == "Korhonen"
    assert practitioner.identifier[0].system == "urn:city:practitioner"

    with pytest.raises(FHIRNotFoundException):
        p.Patient.read("does-not-exist", server)


def test_update_and_delete(server: FHIRServer) -> None:
    patient_id = created_id(new_patient("777", "Laine").create(server))
    patient = p.Patient.read(patient_id, server)
    patient.active = False
    updated = patient.update()
    assert updated is not None
    assert updated["meta"]["versionId"] == "2"
    assert p.Patient.read(patient_id, server).active is False
    patient.delete()
    with pytest.raises(requests.HTTPError, match="410"):
        p.Patient.read(patient_id, server)


def test_search_pages_through_every_slot(server: FHIRServer) -> None:
    practitioner_id = created_id(new_practitioner("p1", "Korhonen").create(server))
    schedule = sc.Schedule()
    schedule.active = True
    schedule.actor = [reference(f"Practitioner/{practitioner_id}")]
    schedule_id = created_id(schedule.create(server))
    other = sc.Schedule()
    other.actor = [reference(f"Practitioner/{practitioner_id}")]
    other_id = created_id(other.create(server))

    start = datetime(2030, 3, 10, 8, 0, tzinfo=UTC)
    created: set[str] = set()
    for number in range(25):
        slot = sl.Slot()
        slot.schedule = reference(f"Schedule/{schedule_id}")
        slot.status = "free"
        slot.start = fi.FHIRInstant((start + timedelta(minutes=20 * number)).isoformat())
        slot.end = fi.FHIRInstant((start + timedelta(minutes=20 * number + 20)).isoformat())
        created.add(created_id(slot.create(server)))
    elsewhere = sl.Slot()
    elsewhere.schedule = reference(f"Schedule/{other_id}")
    elsewhere.status = "free"
    elsewhere.start = fi.FHIRInstant("2030-03-10T08:00:00+00:00")
    elsewhere.end = fi.FHIRInstant("2030-03-10T08:20:00+00:00")
    created_id(elsewhere.create(server))
    assert len(created) == 25

    search = sl.Slot.where({"schedule": f"Schedule/{schedule_id}", "_count": "10"})
    pages = list(search.perform_iter(server))
    assert [len(page.entry or []) for page in pages] == [10, 10, 5]
    seen = [entry.resource.id for page in pages for entry in page.entry or []]
    assert len(seen) == len(set(seen)) == 25
    assert set(seen) == created
    for page in pages:
        assert page.type == "searchset"
        assert page.total == 25
        assert all(entry.search.mode == "match" for entry in page.entry)
        assert all(isinstance(entry.resource, sl.Slot) for entry in page.entry)
        assert all(
            entry.resource.schedule.reference == f"Schedule/{schedule_id}" for entry in page.entry
        )
    assert not any(link.relation == "next" for link in pages[-1].link)

    resources = list(search.perform_resources_iter(server))
    assert sorted(resource.id for resource in resources) == sorted(created)


def test_search_by_following_links_with_the_server(server: FHIRServer) -> None:
    for number in range(12):
        created_id(new_patient(str(number), f"Family{number:02d}").create(server))
    first = b.Bundle.read_from("Patient?_count=5&_sort=family", server)
    assert first.total == 12
    families, page, pages = [], first, 0
    while page is not None:
        pages += 1
        families += [entry.resource.name[0].family for entry in page.entry or []]
        following = next((link.url for link in page.link or [] if link.relation == "next"), None)
        page = b.Bundle.read_from(following, server) if following else None
    assert pages == 3
    assert families == [f"Family{number:02d}" for number in range(12)]


def test_transaction_bundle(server: FHIRServer) -> None:
    patient_url = f"urn:uuid:{uuid.uuid4()}"
    patient_entry = b.BundleEntry()
    patient_entry.fullUrl = patient_url
    patient_entry.resource = new_patient("999", "Nieminen")
    patient_entry.request = b.BundleEntryRequest()
    patient_entry.request.method = "POST"
    patient_entry.request.url = "Patient"

    observation = o.Observation()
    observation.status = "preliminary"
    category = cc.CodeableConcept()
    category.text = "laboratory"
    observation.category = [category]
    coding = cd.Coding()
    coding.system = "http://loinc.org"
    coding.code = "2160-0"
    observation.code = cc.CodeableConcept()
    observation.code.coding = [coding]
    observation.subject = reference(patient_url)
    observation.valueQuantity = q.Quantity()
    observation.valueQuantity.value = 1.5
    observation.valueQuantity.unit = "mg/dL"
    observation.valueQuantity.system = "http://unitsofmeasure.org"
    observation.valueQuantity.code = "mg/dL"
    observation_entry = b.BundleEntry()
    observation_entry.fullUrl = f"urn:uuid:{uuid.uuid4()}"
    observation_entry.resource = observation
    observation_entry.request = b.BundleEntryRequest()
    observation_entry.request.method = "POST"
    observation_entry.request.url = "Observation"

    transaction = b.Bundle()
    transaction.type = "transaction"
    transaction.entry = [patient_entry, observation_entry]
    response = server.post_json("", transaction.as_json())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")

    result = b.Bundle(response.json())
    assert result.type == "transaction-response"
    assert len(result.entry) == 2
    assert [entry.response.status.split()[0] for entry in result.entry] == ["201", "201"]
    patient_id = location_id(result.entry[0].response.location, "Patient")
    observation_id = location_id(result.entry[1].response.location, "Observation")

    patient = p.Patient.read(patient_id, server)
    assert patient.name[0].family == "Nieminen"
    stored = o.Observation.read(observation_id, server)
    assert stored.subject.reference == f"Patient/{patient_id}"
    assert stored.valueQuantity.value == 1.5

    found = o.Observation.where({"subject": f"Patient/{patient_id}"}).perform_resources_iter(server)
    assert [resource.id for resource in found] == [observation_id]
