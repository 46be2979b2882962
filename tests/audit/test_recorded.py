"""The patients an audit record names are read from a request's bodies by the one reference
parser: whatever spelling the index takes as a Patient, the record names that Patient."""

import pytest

from medsvc.audit.events import Access
from medsvc.audit.recorded import _patient_named

BASE = "https://medsvc.example/fhir"


def named_in(sent: bytes | None = None, answered: bytes | None = None) -> set[str]:
    access = Access(
        interaction="create",
        status=201,
        request_id="r-1",
        client_address=None,
        sent=sent,
        contents=(answered,) if answered else (),
        patient_named=_patient_named(BASE),
    )
    return access.all_patients()


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/p1",
        "Patient/p1/_history/3",
        f"{BASE}/Patient/p1",
        f"{BASE}/Patient/p1/_history/3",
    ],
)
def test_every_accepted_spelling_names_its_patient(reference: str) -> None:
    body = b'{"resourceType":"Observation","subject":{"reference":"%s"}}' % reference.encode()
    assert named_in(answered=body) == {"p1"}
    assert named_in(sent=body) == {"p1"}


def test_escapes_in_what_a_client_sent_are_read_as_json_reads_them() -> None:
    sent = (
        b'{"subject": {"\\u0072eference" : "\\u0050atient\\/p2"},'
        b' "x": [[{"reference": "Patient/p3"}]]}'
    )
    assert named_in(sent=sent) == {"p2", "p3"}


@pytest.mark.parametrize(
    "reference",
    [
        "https://elsewhere.example/fhir/Patient/p1",
        "Patient?identifier=x|1",
        "Group/p1",
        "/Patient/p1",
        "#p1",
        f"{BASE}//Patient/p1",
    ],
)
def test_what_names_no_local_patient_names_none(reference: str) -> None:
    body = b'{"subject":{"reference":"%s"}}' % reference.encode()
    assert named_in(sent=body, answered=body) == set()


def test_a_body_that_is_not_json_names_none() -> None:
    assert named_in(sent=b"%PDF-1.4 Patient/p1", answered=b"%PDF-1.4") == set()
