"""The one reference parser: the accepted grammar, what it refuses, and the index and the
write check agreeing on every spelling."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medsvc.fhir import references
from medsvc.fhir.indexing import reference_rows
from medsvc.fhir.references import BadReference, Parsed, Target

BASE = "http://127.0.0.1:8000/fhir"
IDS = st.from_regex(r"[A-Za-z0-9\-.]{1,64}", fullmatch=True).filter(lambda i: i not in (".", ".."))
TYPES = st.sampled_from(["Patient", "Observation", "Appointment", "Slot", "Encounter"])

# Every spelling that looks like a local reference but is not one of the two accepted forms.
REFUSED = [
    "/Patient/1",
    "x/Patient/1",
    "fhir/Patient/1",
    f"{BASE}//Patient/1",
    f"{BASE}/Patient//1",
    f"{BASE}/Patient/1/",
    "./Patient/1",
    "../Patient/1",
    "Patient/./1",
    "Patient/..",
    "Patient/.",
    f"{BASE}/Patient/..",
    "Patient/1/_history/..",
    "Patient/../Patient/1",
    "Patient//1",
    "Patient/1/",
    "Patient/1?_format=json",
    "Patient/1#x",
    "Patient?identifier=a|b",
    "patient/1",
    "PATIENT/1",
    "Patient%2F1",
    "Patient/%31",
    "%50atient/1",
    " Patient/1",
    "Patient/1 ",
    "Patient/1\n",
    "Patient/\t1",
    "Patient\\1",
    "Patient/1\\",
    "Patient/1/_history",
    "Patient/1/_history/",
    "Patient/1/_history/1/x",
    "Patient/1/history/1",
    "Foo/1",
    "Resource/1",
    "DomainResource/1",
    "Reference/1",
    "Patient/" + "1" * 65,
    "Patient/",
    "Patient",
    "",
    "HTTP://127.0.0.1:8000/fhir/Patient/1",
    "http://127.0.0.1:8001/fhir/Patient/1",
    "http://127.0.0.1:80/fhir/Patient/1",
    "http://127.0.0.1.:8000/fhir/Patient/1",
    "http://u@127.0.0.1:8000/fhir/Patient/1",
    "http://127.0.0.1:8000/FHIR/Patient/1",
    "http://127.0.0.1:8000/fhir/../fhir/Patient/1",
    "http://127.0.0.1:8000/other/Patient/1",
    "https://127.0.0.1:8000/fhir/Patient/1",
    "http://127.0.0.1:8000/fhir/patient/1",
    "http://127.0.0.1:8000/fhir/Patient/1?x=1",
    "http://127.0.0.1:abc/fhir/Patient/1",
    "//127.0.0.1:8000/fhir/Patient/1",
    "http:/Patient/1",
    "http:Patient/1",
    "file:///fhir/Patient/1",
    "Patient:1",
    "urn:uuid:x/Patient/1",
    "urn:uuid:1234",
    "URN:UUID:0b5bd8b4-3c5b-4b8a-9d61-1b8f2b0b6a11",
    "urn:oid:1.2.x/Patient/1",
    "urn:ietf:rfc:3986",
    "#../Patient/1",
    "#Patient/1",
]


@pytest.mark.parametrize("reference", REFUSED)
def test_a_local_looking_spelling_is_refused(reference: str) -> None:
    with pytest.raises(BadReference) as refused:
        references.parse(reference, BASE)
    assert refused.value.status == 422
    assert references.local_target(reference, BASE) is None


@pytest.mark.parametrize(
    ("reference", "parsed"),
    [
        ("Patient/1", Parsed("local", Target("Patient", "1"))),
        ("Patient/a-b.C", Parsed("local", Target("Patient", "a-b.C"))),
        ("Encounter/e1/_history/2", Parsed("local", Target("Encounter", "e1", "2"))),
        (f"{BASE}/Patient/1", Parsed("local", Target("Patient", "1"))),
        (f"{BASE}/Slot/s/_history/v.1", Parsed("local", Target("Slot", "s", "v.1"))),
        ("#", Parsed("contained")),
        ("#c1", Parsed("contained")),
        ("urn:uuid:0b5bd8b4-3c5b-4b8a-9d61-1b8f2b0b6a11", Parsed("placeholder")),
        ("urn:oid:1.2.246.21", Parsed("placeholder")),
        ("https://other.example/fhir/Patient/1", Parsed("external")),
        ("http://localhost:8000/fhir/Patient/1", Parsed("external")),
        ("https://other.example/Patient/1/_history/2", Parsed("external")),
    ],
)
def test_what_is_accepted(reference: str, parsed: Parsed) -> None:
    assert references.parse(reference, BASE) == parsed


def test_without_a_base_only_the_relative_form_is_local() -> None:
    assert references.local_target("Schedule/1", None) == Target("Schedule", "1")
    assert references.local_target(f"{BASE}/Schedule/1", None) is None
    assert references.local_target("/Schedule/1", None) is None


@given(TYPES, IDS, st.none() | IDS, st.booleans())
def test_every_accepted_local_form_parses_back_to_its_parts(
    resource_type: str, resource_id: str, version: str | None, absolute: bool
) -> None:
    reference = f"{resource_type}/{resource_id}"
    reference += f"/_history/{version}" if version else ""
    reference = f"{BASE}/{reference}" if absolute else reference
    assert references.parse(reference, BASE) == Parsed(
        "local", Target(resource_type, resource_id, version)
    )


@given(TYPES, IDS, st.text(min_size=1, max_size=8))
def test_a_prefix_before_a_local_form_never_makes_it_local(
    resource_type: str, resource_id: str, prefix: str
) -> None:
    """Only this server's base URL may stand before Type/id (the old parser searched for
    Type/id anywhere in the string)."""
    assert references.local_target(f"{prefix}/{resource_type}/{resource_id}", BASE) is None


@given(st.text(max_size=80))
def test_the_index_stores_a_local_target_only_where_the_write_check_accepts_one(
    reference: str,
) -> None:
    """Whatever the string, the index rows and the parser agree on whether it is local."""
    rows = reference_rows(({"reference": reference}, None), BASE)
    try:
        target = references.parse(reference, BASE).target
    except BadReference:
        target = None
    indexed = [(r["target_type"], r["target_id"]) for r in rows if "target_type" in r]
    assert indexed == ([(target.type, target.id)] if target else [])


def test_the_index_keeps_an_external_or_refused_reference_as_a_url() -> None:
    for reference in ("https://other.example/fhir/Patient/1", "/Patient/1", "x/Patient/1"):
        assert reference_rows(({"reference": reference}, None), BASE) == [{"url": reference}]
    assert reference_rows(({"reference": f"{BASE}/Patient/1"}, None), BASE) == [
        {"target_type": "Patient", "target_id": "1"}
    ]


def test_every_refused_reference_is_an_issue_naming_its_element() -> None:
    appointment = {
        "resourceType": "Appointment",
        "participant": [
            {"actor": {"reference": "Practitioner/d1"}},
            {"actor": {"reference": "/Patient/2"}},
        ],
        "slot": [{"reference": "Slot/s"}, {"reference": "slot/s"}],
        "contained": [{"resourceType": "Patient", "link": [{"other": {"reference": "x/P/1"}}]}],
    }
    issues = references.find_issues(appointment, BASE)
    assert [i.expression for i in issues] == [
        ("Appointment.participant[1].actor.reference",),
        ("Appointment.slot[1].reference",),
        ("Appointment.contained[0].link[0].other.reference",),
    ]
    with pytest.raises(BadReference) as refused:
        references.require_valid(appointment, BASE)
    assert len(refused.value.issues) == 3


def test_local_targets_are_read_from_anywhere_in_a_resource() -> None:
    resource = {
        "resourceType": "Observation",
        "subject": {"reference": f"{BASE}/Patient/1"},
        "performer": [{"reference": "Patient/2"}, {"reference": "https://x.org/Patient/3"}],
        "extension": [{"url": "u", "valueReference": {"reference": "Patient/4/_history/1"}}],
    }
    assert [(t.type, t.id) for t in references.local_targets(resource, BASE)] == [
        ("Patient", "1"),
        ("Patient", "2"),
        ("Patient", "4"),
    ]


def test_conditional_references_name_a_resource_type() -> None:
    assert references.conditional("Patient?identifier=s|v") == ("Patient", "identifier=s|v")
    assert references.conditional("patient?identifier=s|v") is None
    assert references.conditional("Foo?x=1") is None
    assert references.conditional("Patient/1") is None


def test_the_type_a_url_names_is_read_for_resolve_is() -> None:
    assert references.type_named("Patient/1") == "Patient"
    assert references.type_named("https://x.org/fhir/Patient/a-b.c/_history/2") == "Patient"
    assert references.type_named("urn:uuid:0b5bd8b4-3c5b-4b8a-9d61-1b8f2b0b6a11") is None
    assert references.type_named("#contained") is None
    assert references.type_named("patient/1") is None
