"""Results never go back, on both databases: a push older than the stored version (an earlier
status, an older issued, anything after a retraction) is 409 naming the stored version, by
PUT, conditional update, PATCH or a transaction's entry, and nothing of its Bundle is written;
a newer push, a correction, is stored."""

import copy
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from medsvc.security.context import AuthContext
from tests.conftest import Backend
from tests.factories import FHIR_JSON, observation, patient
from tests.fhir.test_search import post
from tests.results.lab_push import ISSUED, LAB, Lab, counts, current, lab_bundle, versions
from tests.results.test_release import notices, release_job

Opener = Callable[[AuthContext], httpx.Client]
LATER, LATEST = "2026-11-03T09:00:00+02:00", "2026-11-04T09:00:00+02:00"
EARLIER = "2026-11-02T13:59:59+02:00"


def corrected_lab(client: httpx.Client, acting_as: Opener) -> Lab:
    """A lab that pushed a final result, then its correction."""
    lab = Lab(client, acting_as)
    lab.push()
    lab.push(status="corrected", issued=LATER, value=2.0)
    return lab


def refused(lab: Lab, backend: Backend, bundle: dict[str, Any]) -> str:
    """The diagnostics of the 409 a push gets, once checked that it wrote nothing."""
    before = counts(backend), versions(lab.client, "Observation")
    response = lab.send(bundle)
    assert response.status_code == 409, response.text
    (issue,) = response.json()["issue"]
    assert issue["code"] == "conflict"
    assert (counts(backend), versions(lab.client, "Observation")) == before
    return str(issue["diagnostics"])


def changed(bundle: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    """The bundle with its index-th entry's resource changed."""
    result = copy.deepcopy(bundle)
    result["entry"][index]["resource"].update(changes)
    return result


def stored_id(client: httpx.Client, resource_type: str) -> str:
    (resource,) = current(client, resource_type)
    return str(resource["id"])


def test_a_final_push_after_its_correction_is_refused_naming_the_correction(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = corrected_lab(client, acting_as)
    first = sorted(current(client, "Observation"), key=lambda o: o["identifier"][0]["value"])[0]
    said = refused(lab, clean, lab_bundle(lab.national_id, "R-1"))
    assert said.startswith(
        f"Bundle.entry[0]: Observation/{first['id']}/_history/2 is corrected, issued {LATER}; "
        f"this push is final, issued {ISSUED}"
    )
    (report,) = current(client, "DiagnosticReport")
    assert (report["status"], report["meta"]["versionId"]) == ("corrected", "2")


def test_a_bundle_whose_report_alone_is_stale_writes_none_of_its_observations(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = corrected_lab(client, acting_as)
    newer = lab_bundle(lab.national_id, "R-1", status="corrected", issued=LATEST, value=3.0)
    stale = changed(newer, 2, status="final", issued=ISSUED)
    said = refused(lab, clean, stale)
    report = stored_id(client, "DiagnosticReport")
    assert f"DiagnosticReport/{report}/_history/2 is corrected, issued {LATER}" in said
    assert {o["valueQuantity"]["value"] for o in current(client, "Observation")} == {2.0}


def test_a_bundle_with_one_stale_observation_writes_nothing(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = corrected_lab(client, acting_as)
    newer = lab_bundle(lab.national_id, "R-1", status="corrected", issued=LATEST, value=3.0)
    said = refused(lab, clean, changed(newer, 1, issued=EARLIER))
    assert said.startswith("Bundle.entry[1]: Observation/")
    assert f"this push is corrected, issued {EARLIER}" in said
    assert {o["valueQuantity"]["value"] for o in current(client, "Observation")} == {2.0}
    (report,) = current(client, "DiagnosticReport")
    assert report["issued"] == LATER


def test_a_stale_document_is_refused_and_its_pdf_kept(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = corrected_lab(client, acting_as)
    newer = lab_bundle(lab.national_id, "R-1", status="corrected", issued=LATEST, pdf=b"%PDF-3")
    said = refused(lab, clean, changed(newer, 3, docStatus="final", date=ISSUED))
    document = stored_id(client, "DocumentReference")
    assert f"DocumentReference/{document}/_history/2 is amended, issued {LATER}" in said


def _stale_by_update(lab: Lab, resource: dict[str, Any]) -> httpx.Response:
    return lab.hospital.put(f"/Observation/{resource['id']}", json=resource, headers=FHIR_JSON)


def _stale_by_conditional_update(lab: Lab, resource: dict[str, Any]) -> httpx.Response:
    url = f"/Observation?identifier={LAB}|{resource['identifier'][0]['value']}"
    return lab.hospital.put(url, json=resource, headers=FHIR_JSON)


def _stale_by_patch(lab: Lab, resource: dict[str, Any]) -> httpx.Response:
    operations = [
        {"op": "replace", "path": "/status", "value": resource["status"]},
        {"op": "replace", "path": "/issued", "value": resource["issued"]},
    ]
    patch_type = {"Content-Type": "application/json-patch+json"}
    return lab.hospital.patch(f"/Observation/{resource['id']}", json=operations, headers=patch_type)


def _stale_by_transaction(lab: Lab, resource: dict[str, Any]) -> httpx.Response:
    url = f"Observation?identifier={LAB}|{resource['identifier'][0]['value']}"
    entry = {"resource": resource, "request": {"method": "PUT", "url": url}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    return lab.hospital.post("/", json=bundle, headers=FHIR_JSON)


@pytest.mark.parametrize(
    "send",
    [_stale_by_update, _stale_by_conditional_update, _stale_by_patch, _stale_by_transaction],
)
@pytest.mark.parametrize(
    ("status", "issued"), [("final", LATEST), ("corrected", EARLIER), ("registered", LATEST)]
)
def test_every_way_of_writing_refuses_a_stale_observation(
    client: httpx.Client,
    clean: Backend,
    acting_as: Opener,
    send: Callable[[Lab, dict[str, Any]], httpx.Response],
    status: str,
    issued: str,
) -> None:
    lab = corrected_lab(client, acting_as)
    stored = current(client, "Observation")[0]
    stale = {**stored, "status": status, "issued": issued}
    del stale["meta"]
    before = counts(clean), versions(client, "Observation")
    response = send(lab, stale)
    assert response.status_code == 409, response.text
    (issue,) = response.json()["issue"]
    assert (
        f"Observation/{stored['id']}/_history/2 is corrected, issued {LATER}"
        in (issue["diagnostics"])
    )
    assert f"this push is {status}, issued {issued}" in issue["diagnostics"]
    assert (counts(clean), versions(client, "Observation")) == before


def test_a_stale_entry_of_a_batch_is_refused_alone(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    lab = corrected_lab(client, acting_as)
    stored = current(client, "Observation")[0]
    stale = {**stored, "status": "final", "issued": ISSUED}
    del stale["meta"]
    entry = {"resource": stale, "request": {"method": "PUT", "url": f"Observation/{stale['id']}"}}
    before = counts(clean), versions(client, "Observation")
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [entry]}
    response = lab.hospital.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    (answer,) = response.json()["entry"]
    assert answer["response"]["status"] == "409 Conflict"
    (issue,) = answer["response"]["outcome"]["issue"]
    assert f"Observation/{stored['id']}/_history/2 is corrected" in issue["diagnostics"]
    assert (counts(clean), versions(client, "Observation")) == before


@pytest.mark.parametrize(
    ("issued", "accepted"),
    [
        ("2026-11-03T08:00:00Z", True),  # 09:00 at +02:00 is 07:00Z: an hour later
        ("2026-11-03T07:00:00.000+00:00", True),  # the same instant, spelt otherwise
        ("2026-11-03T10:00:00+05:00", False),  # looks later, is 05:00Z: two hours earlier
        ("2026-11-03T06:59:59.999Z", False),
    ],
)
def test_issued_is_compared_as_an_instant_whatever_its_time_zone(
    client: httpx.Client, issued: str, accepted: bool
) -> None:
    subject = f"Patient/{post(client, patient())['id']}"
    stored = post(client, {**observation(subject, status="corrected"), "issued": LATER})
    update = {**observation(subject, status="corrected"), "issued": issued, "id": stored["id"]}
    response = client.put(f"/Observation/{stored['id']}", json=update, headers=FHIR_JSON)
    assert response.status_code == (200 if accepted else 409), response.text
    if not accepted:
        assert response.json()["issue"][0]["expression"] == ["Observation.issued"]
        assert client.get(f"/Observation/{stored['id']}").json()["issued"] == LATER


@pytest.mark.parametrize(
    ("steps", "refused_at"),
    [
        (["registered", "preliminary", "final", "amended", "corrected", "amended"], None),
        (["final", "amended", "entered-in-error", "entered-in-error"], None),
        (["preliminary", "cancelled", "entered-in-error"], None),
        (["registered", "preliminary", "final", "preliminary"], 3),
        (["final", "registered"], 1),
        (["corrected", "final"], 1),
        (["amended", "corrected", "final"], 2),
        (["final", "entered-in-error", "final"], 2),
        (["final", "entered-in-error", "corrected"], 2),
        (["cancelled", "final"], 1),
        (["final", "cancelled"], 1),
        (["final", "unknown"], 1),
        (["preliminary", "unknown"], 1),
        (["unknown", "preliminary", "final"], None),
    ],
)
def test_the_status_moves_forward_only(
    client: httpx.Client, steps: list[str], refused_at: int | None
) -> None:
    """Statuses of one rank (amended, corrected) may follow each other; a
    retraction (entered-in-error) follows anything and is followed by nothing else."""
    subject = f"Patient/{post(client, patient())['id']}"
    stored = post(client, observation(subject, status=steps[0]))
    for n, status in enumerate(steps[1:], start=1):
        update = {**observation(subject, status=status), "id": stored["id"]}
        response = client.put(f"/Observation/{stored['id']}", json=update, headers=FHIR_JSON)
        if n == refused_at:
            assert response.status_code == 409, response.text
            assert response.json()["issue"][0]["expression"] == ["Observation.status"]
            was = client.get(f"/Observation/{stored['id']}").json()
            assert was["status"] == steps[n - 1]
            assert f"_history/{was['meta']['versionId']} is {steps[n - 1]}" in response.text
            return
        assert response.status_code == 200, response.text


def test_a_correction_is_stored_and_tells_the_patient_nothing_new(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    """docs/results.md: a released result stays released, its corrections visible at once;
    the patient was told once, of its release."""
    lab = Lab(client, acting_as)
    lab.push()
    assert release_job(clean) == 1
    assert len(notices(client, lab.patient_id)) == 1
    locations = lab.push(status="corrected", issued=LATER, value=2.0, pdf=b"%PDF-2")
    assert [loc.rsplit("/", 1)[1] for loc in locations] == ["2"] * 5
    assert release_job(clean) == 0
    assert len(notices(client, lab.patient_id)) == 1
    assert {o["valueQuantity"]["value"] for o in current(client, "Observation")} == {2.0}
    (document,) = current(client, "DocumentReference")
    assert document["docStatus"] == "amended"


def test_pushes_of_one_result_at_once_never_take_it_back(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    """Six corrections sent at once, in any order: each is stored or refused whole, the
    stored versions' issued never goes back, and the newest correction is the current one."""
    lab = Lab(client, acting_as)
    lab.push()
    pushes = [
        lab_bundle(lab.national_id, "R-1", "corrected", f"2026-11-03T0{n}:00:00+02:00", value=n)
        for n in range(1, 7)
    ]
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda bundle: lab.send(bundle).status_code, pushes))
    assert set(statuses) <= {200, 409}, statuses
    report = stored_id(client, "DiagnosticReport")
    history = client.get(f"/DiagnosticReport/{report}/_history").json()
    issued = [e["resource"]["issued"] for e in reversed(history["entry"])]
    assert len(issued) == 1 + statuses.count(200)
    assert issued == sorted(issued)  # all at +02:00: as text, in the order of time
    assert issued[-1] == "2026-11-03T06:00:00+02:00"
    assert {o["valueQuantity"]["value"] for o in current(client, "Observation")} == {6}
