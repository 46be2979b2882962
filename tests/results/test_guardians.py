"""Results kept from a child's guardians by category from an age of the child: the guardian
stops reading them (and what they carry) on the child's birthday of that age, by every way a
result is reached; the child, an adult's consented proxy and the clinicians still read them."""

import base64
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from medsvc import clock
from medsvc.access import proxies
from medsvc.assembly import fhir_server
from medsvc.config import ConfigurationError
from tests.conftest import Backend, free_port, make_settings
from tests.factories import FHIR_JSON, observation
from tests.fhir.test_search import post
from tests.results.test_release import NATIONAL_ID, Opener
from tests.scheduling.clinic import citizen_context, hospital_context

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
PRIVATE = "urn:city:result-category"  # a category a city defines for sexual health results
WITHHELD = f"{PRIVATE}|sexual-health=12,PRG=0"
TODAY = date(2026, 12, 8)
NOON = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)  # 12:00 in Asia/Shanghai
PDF = {"Accept": "application/pdf"}


def category(system: str, code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system, "code": code} if system else {"code": code}]}]


def born(years: int, days: int = 0) -> str:
    return (TODAY.replace(year=TODAY.year - years) + timedelta(days=days)).isoformat()


def entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    request = {"method": "POST", "url": resource["resourceType"]}
    return {"fullUrl": url, "resource": resource, "request": request}


def report_with_pdf(national_id: str, key: str, categories: list[Any]) -> list[dict[str, Any]]:
    """A report in the categories with one Observation (of its own category) and its PDF,
    a DocumentReference naming the report in context.related, and the PDF's Binary."""
    subject = {"reference": f"Patient?identifier={NATIONAL_ID}|{national_id}"}
    result = observation(subject["reference"])  # a laboratory result, as its report says
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": categories,
        "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]},
        "subject": subject,
        "result": [{"reference": f"urn:uuid:{key}-o"}],
        "effectiveDateTime": "2026-11-02T08:30:00+02:00",
        "issued": "2026-11-02T14:00:00+02:00",
    }
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "final",
        "subject": subject,
        "context": {"related": [{"reference": f"urn:uuid:{key}-r"}]},
        "content": [{"attachment": {"contentType": "application/pdf", "url": f"urn:uuid:{key}-b"}}],
    }
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": {"reference": f"urn:uuid:{key}-d"},
        "data": base64.b64encode(b"%PDF-1.4\n%%EOF\n").decode(),
    }
    parts = {"o": result, "r": report, "d": document, "b": binary}
    return [entry(f"urn:uuid:{key}-{part}", resource) for part, resource in parts.items()]


def pushed(lab: httpx.Client, entries: list[dict[str, Any]]) -> dict[str, str]:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = lab.post("/", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    ids = {}
    for each in response.json()["entry"]:
        location = each["response"]["location"].split("/_history")[0]
        resource_type, resource_id = location.split("/")[-2:]
        ids[resource_type] = resource_id
    return ids


class Family:
    """A child and a parent acting for them as guardian; a lab pushing the child's results."""

    def __init__(self, client: httpx.Client, clean: Backend, acting_as: Opener, age: int):
        clock.set_source(lambda: NOON)
        self.settings = {"guardian_withheld_results": WITHHELD, "timezone": "Asia/Shanghai"}
        self.national_id = f"child-{age}"
        child = {
            "resourceType": "Patient",
            "identifier": [{"system": NATIONAL_ID, "value": self.national_id}],
            "name": [{"family": "王", "given": ["小明"]}],
            "birthDate": born(age),
        }
        self.child = post(client, child)["id"]
        parent = {"resourceType": "Patient", "name": [{"family": "王", "given": ["美"]}]}
        self.parent = post(client, parent)["id"]
        proposal = proxies.NewProxy(self.child, self.parent, "MTH", proxies.GUARDIAN, "operator")
        with clean.database.session(write=True) as session:
            server = fhir_server(clean.settings)
            proxy = proxies.add(
                session, server, proposal, proxies.ChildAge(14), NOON - timedelta(days=2)
            )
        organization = post(client, {"resourceType": "Organization", "name": "Lab"})["id"]
        self.lab = acting_as(hospital_context(organization))
        guardian = replace(citizen_context(self.child), proxy=proxy.id)
        self.guardian = acting_as(guardian, **self.settings)
        self.the_child = acting_as(citizen_context(self.child), **self.settings)

    def push(self, key: str, categories: list[Any]) -> dict[str, str]:
        return pushed(self.lab, report_with_pdf(self.national_id, key, categories))


def reaches(http: httpx.Client, ids: dict[str, str], child: str) -> dict[str, bool]:
    """Whether the caller reaches each part of a result, by read, by search and in the
    child's $everything: all three agree, or the test fails."""
    everything = http.get(f"/Patient/{child}/$everything")
    assert everything.status_code == 200, everything.text
    listed = {e["resource"]["id"] for e in everything.json().get("entry", [])}
    found = {}
    for resource_type, resource_id in ids.items():
        headers = PDF if resource_type == "Binary" else {}
        read = http.get(f"/{resource_type}/{resource_id}", headers=headers).status_code
        assert read in (200, 404), (resource_type, read)
        found[resource_type] = read == 200
        if resource_type != "Binary":
            searched = http.get(f"/{resource_type}", params={"_id": resource_id}).json()
            assert (searched["total"] == 1) == found[resource_type], resource_type
            assert (resource_id in listed) == found[resource_type], resource_type
    return found


ALL = dict.fromkeys(("Observation", "DiagnosticReport", "DocumentReference", "Binary"), True)
NONE = dict.fromkeys(ALL, False)


@pytest.fixture(autouse=True)
def _clock_back() -> Any:
    yield
    clock.reset()


def test_a_guardian_of_a_teenager_reads_none_of_a_withheld_category(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    family = Family(client, clean, acting_as, age=13)
    sexual_health = family.push("sh", category(PRIVATE, "sexual-health"))
    blood = family.push("lab", category(V2_0074, "LAB"))
    assert reaches(family.guardian, sexual_health, family.child) == NONE
    assert reaches(family.guardian, blood, family.child) == ALL
    assert reaches(family.the_child, sexual_health, family.child) == ALL


def test_a_guardian_of_a_younger_child_reads_them_until_the_birthday(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    family = Family(client, clean, acting_as, age=12)
    # 12 today: set the clock to the eve of the birthday, local time, and to its first second.
    sexual_health = family.push("sh", category(PRIVATE, "sexual-health"))
    assert reaches(family.guardian, sexual_health, family.child) == NONE
    eve = datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai, the day before
    clock.set_source(lambda: eve)
    assert reaches(family.guardian, sexual_health, family.child) == ALL
    clock.set_source(lambda: eve + timedelta(seconds=1))
    assert reaches(family.guardian, sexual_health, family.child) == NONE


def test_a_category_withheld_at_any_age_is_never_a_guardian_s(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    family = Family(client, clean, acting_as, age=3)
    pregnancy = family.push("prg", category("urn:some:other-system", "PRG"))  # a code, any system
    teen = family.push("sh", category(PRIVATE, "sexual-health"))
    assert reaches(family.guardian, pregnancy, family.child) == NONE
    assert reaches(family.guardian, teen, family.child) == ALL


@pytest.mark.parametrize(
    "coding",
    [
        ("urn:city:other-category", "sexual-health"),  # the code, in a system not named
        (PRIVATE, "Sexual-Health"),  # codes are case-sensitive
        ("", "sexual-health"),  # the code, in no system
    ],
)
def test_only_the_configured_category_is_withheld(
    client: httpx.Client, clean: Backend, acting_as: Opener, coding: tuple[str, str]
) -> None:
    family = Family(client, clean, acting_as, age=13)
    other = family.push("other", category(*coding))
    assert reaches(family.guardian, other, family.child) == ALL


def test_a_result_in_the_category_among_others_is_withheld(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    family = Family(client, clean, acting_as, age=13)
    both = category(V2_0074, "LAB") + category(PRIVATE, "sexual-health")
    assert reaches(family.guardian, family.push("both", both), family.child) == NONE


def test_an_observation_of_the_category_is_withheld_by_itself(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    family = Family(client, clean, acting_as, age=13)
    subject = f"Patient?identifier={NATIONAL_ID}|{family.national_id}"
    alone = {**observation(subject), "category": category(PRIVATE, "sexual-health")}
    ids = pushed(family.lab, [entry("urn:uuid:alone", alone)])
    assert reaches(family.guardian, ids, family.child) == {"Observation": False}
    assert reaches(family.the_child, ids, family.child) == {"Observation": True}


def test_an_adult_s_consented_proxy_reads_every_category(
    client: httpx.Client, clean: Backend, acting_as: Opener
) -> None:
    family = Family(client, clean, acting_as, age=13)
    adult = {
        "resourceType": "Patient",
        "identifier": [{"system": NATIONAL_ID, "value": "adult-30"}],
        "birthDate": born(30),
    }
    adult_id = post(client, adult)["id"]
    proposal = proxies.NewProxy(adult_id, family.parent, "CHILD", proxies.CONSENTED, "consent")
    with clean.database.session(write=True) as session:
        proxy = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), NOON
        )
    consented = acting_as(replace(citizen_context(adult_id), proxy=proxy.id), **family.settings)
    ids = pushed(
        family.lab, report_with_pdf("adult-30", "adult", category(PRIVATE, "sexual-health"))
    )
    assert reaches(consented, ids, adult_id) == ALL


@pytest.mark.parametrize("text", ["PRG", "PRG=", "PRG=old", "PRG=19", "=12", f"{PRIVATE}|=12"])
def test_withholding_that_does_not_parse_stops_the_service_from_starting(
    clean: Backend, text: str
) -> None:
    settings = make_settings(clean.url, free_port(), guardian_withheld_results=text)
    with pytest.raises(ConfigurationError, match="MEDSVC_GUARDIAN_WITHHELD_RESULTS"):
        fhir_server(settings)
