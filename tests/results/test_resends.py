"""A resent push changes nothing, its PDF included, on both databases: the DocumentReference is
matched by its identifier, its Binary through the document's identifier, and the patient is
told once of the release. Updating a Binary is the owning hospital's alone, and it stays with
its document."""

import base64
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from medsvc.security.context import AuthContext
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.fhir.test_search import post
from tests.results.lab_push import PDF, Lab, counts, current, lab_bundle
from tests.results.test_release import notices, release_job
from tests.scheduling.clinic import citizen_context, hospital_context

Opener = Callable[[AuthContext], httpx.Client]
PDF_TYPE = {"Accept": "application/pdf"}


def ids(locations: list[str]) -> list[str]:
    return [location.split("/fhir/", 1)[1] for location in locations]


def test_an_identical_resend_changes_nothing_and_tells_the_patient_once(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = Lab(client, acting_as)
    first = ids(lab.push())
    assert [i.split("/")[0] for i in first] == [
        "Observation",
        "Observation",
        "DiagnosticReport",
        "DocumentReference",
        "Binary",
    ]
    assert release_job(clean) == 1
    before = counts(clean)
    response = lab.send(lab_bundle(lab.national_id, "R-1"))
    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert [e["response"]["status"] for e in entries] == ["200 OK"] * 5
    assert ids([e["response"]["location"] for e in entries]) == first
    assert counts(clean) == before
    assert release_job(clean) == 0
    (notice,) = notices(client, lab.patient_id)
    report = first[2].split("/_history")[0]
    assert [a["reference"] for a in notice["about"]] == [report]
    (document,) = current(client, "DocumentReference")
    binary = first[4].split("/_history")[0]
    assert document["content"][0]["attachment"]["url"] == binary
    citizen = acting_as(citizen_context(lab.patient_id))
    read = citizen.get(f"/{binary}", headers=PDF_TYPE)
    assert (read.status_code, read.content) == (200, PDF)


def test_identical_pushes_at_once_leave_one_document_and_one_binary(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = Lab(client, acting_as)
    bundle = lab_bundle(lab.national_id, "R-2")
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: lab.send(bundle).status_code, range(6)))
    assert statuses == [200] * 6
    assert release_job(clean) == 1
    assert len(notices(client, lab.patient_id)) == 1
    for kind in ("DocumentReference", "DiagnosticReport"):
        (only,) = current(client, kind)
        assert only["meta"]["versionId"] == "1"
    assert counts(clean)["resource Binary"] == counts(clean)["resource_version Binary"] == 1


def test_a_corrected_pdf_is_a_new_version_of_the_same_binary(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = Lab(client, acting_as)
    first = ids(lab.push())
    again = ids(lab.push(status="corrected", issued="2026-11-03T09:00:00+02:00", pdf=b"%PDF-2"))
    assert [i.rsplit("/", 1)[0] for i in again] == [i.rsplit("/", 1)[0] for i in first]
    binary = again[4].split("/_history")[0]
    citizen = acting_as(citizen_context(lab.patient_id))
    assert citizen.get(f"/{binary}", headers=PDF_TYPE).content == b"%PDF-2"
    assert citizen.get(f"/{first[4]}", headers=PDF_TYPE).content == PDF
    assert counts(clean)["resource Binary"] == 1


def test_only_the_owning_hospital_updates_a_binary_and_never_moves_it(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = Lab(client, acting_as)
    binary = ids(lab.push())[4].split("/_history")[0]
    stored = client.get(f"/{binary}").json()
    changed = {**stored, "data": base64.b64encode(b"%PDF-forged").decode()}
    del changed["meta"]
    other_hospital = acting_as(
        hospital_context(post(client, {"resourceType": "Organization", "name": "Other"})["id"])
    )
    citizen = acting_as(citizen_context(lab.patient_id))
    for caller, refusal in ((other_hospital, 404), (citizen, 403)):
        response = caller.put(f"/{binary}", json=changed, headers=FHIR_JSON)
        assert response.status_code == refusal, response.text
    # Nor may another hospital give the document a PDF of its own: that document is to it
    # as one that does not exist.
    document = stored["securityContext"]["reference"]
    extra = {k: v for k, v in changed.items() if k != "id"}
    for method, url in (("PUT", f"/Binary?securitycontext={document}"), ("POST", "/Binary")):
        response = other_hospital.request(method, url, json=extra, headers=FHIR_JSON)
        assert response.status_code == 422, response.text
        assert response.json()["issue"][0]["expression"] == ["Binary.securityContext"]
    other_patient = post(client, {"resourceType": "Patient"})["id"]
    # Moved to a patient out of its view, or off its document to its own patient.
    for context, refusal in ((f"Patient/{other_patient}", 403), (f"Patient/{lab.patient_id}", 422)):
        moved = {**changed, "securityContext": {"reference": context}}
        response = lab.hospital.put(f"/{binary}", json=moved, headers=FHIR_JSON)
        assert response.status_code == refusal, response.text
    assert response.json()["issue"][0]["expression"] == ["Binary.securityContext"]
    patch = [{"op": "replace", "path": "/data", "value": changed["data"]}]
    response = lab.hospital.patch(
        f"/{binary}", json=patch, headers={"Content-Type": "application/json-patch+json"}
    )
    assert response.status_code == 405, response.text
    assert client.get(f"/{binary}").json()["meta"]["versionId"] == "1"
    assert citizen.get(f"/{binary}", headers=PDF_TYPE).content == PDF


def test_a_reports_pdf_waits_for_the_report_and_is_told_of_with_it(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    """A review rule on the report's category holds its PDF too, whatever the document's own
    category: the citizen reads neither the document nor its Binary before the report."""
    review = "http://terminology.hl7.org/CodeSystem/v2-0074|LAB=review"
    lab = Lab(client, acting_as, release_rules=review)
    report, document, binary = (i.split("/_history")[0] for i in ids(lab.push())[2:])
    citizen = acting_as(citizen_context(lab.patient_id))
    hidden = [citizen.get(f"/{r}").status_code for r in (report, document, binary)]
    assert hidden == [404, 404, 404]
    assert citizen.get("/DocumentReference").json()["total"] == 0
    assert release_job(clean) == 0
    released = lab.hospital.post(
        f"/{report}/$release", json={"resourceType": "Parameters"}, headers=FHIR_JSON
    )
    assert released.status_code == 200, released.text
    assert [citizen.get(f"/{r}").status_code for r in (report, document)] == [200, 200]
    assert citizen.get(f"/{binary}", headers=PDF_TYPE).content == PDF
    assert release_job(clean) == 1
    (notice,) = notices(client, lab.patient_id)
    assert [a["reference"] for a in notice["about"]] == [report]
