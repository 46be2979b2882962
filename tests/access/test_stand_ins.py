"""Notices to a patient the gateway cannot reach (no phone or e-mail in their record) go to the
people acting for them, each in their own language and naming the patient; a patient with a
phone is told themselves; a proxy is told only of what they may read."""

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from medsvc import clock, jobs
from medsvc.access import proxies
from medsvc.assembly import fhir_server
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.fhir.test_search import post
from tests.results.test_guardians import PRIVATE, born, category, report_with_pdf
from tests.results.test_release import NATIONAL_ID
from tests.scheduling.clinic import add_slots, booked, hospital_context, open_clinic, parameters
from tests.security.conftest import acting_as
from tests.subscriptions.receiver import Receiver

__all__ = ["acting_as"]

Opener = Callable[..., httpx.Client]
ENGLISH = [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}}]
CHANGED_ZH = "医院已更改您的一项预约，请登录查看。"
CHANGED_EN = "The hospital has changed one of your appointments. Sign in to see it."
RESULT_ZH = "您有一份新的检查结果已出，请登录查看。"


@pytest.fixture
def gateway() -> Any:
    found = Receiver().up()
    yield found
    found.down()


def person(client: httpx.Client, given: str, phone: str | None, **extra: Any) -> str:
    resource = {
        "resourceType": "Patient",
        "name": [{"family": "王", "given": [given]}],
        **({"telecom": [{"system": "sms", "value": phone}]} if phone else {}),
        **extra,
    }
    return str(post(client, resource)["id"])


def proxy_for(clean: Backend, patient: str, proxy: str, kind: str = proxies.CONSENTED) -> str:
    relationship = "CHILD" if kind == proxies.CONSENTED else "MTH"
    proposal = proxies.NewProxy(patient, proxy, relationship, kind, "operator")
    with clean.database.session(write=True) as session:
        made = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), clock.now()
        )
        return made.id


def cancelled_by_hospital(
    client: httpx.Client, hospital: httpx.Client, clinic: Any, who: str
) -> None:
    [slot] = add_slots(client, clinic.schedule, 1)
    body = parameters(slot=f"Slot/{slot}", patient_id=f"Patient/{who}")
    appointment = booked(client.post("/Appointment/$book", json=body, headers=FHIR_JSON))["id"]
    cancel = parameters(reason="The doctor is ill")
    response = hospital.post(f"/Appointment/{appointment}/$cancel", json=cancel, headers=FHIR_JSON)
    assert response.status_code == 200, response.text


def sent(clean: Backend, gateway: Receiver) -> list[dict[str, Any]]:
    settings = clean.settings.model_copy(update={"notify_webhook_url": gateway.url})
    jobs.run_once(clean.database, jobs.notices_job(settings), clock.now())
    return sorted((json.loads(r.body) for r in gateway.received), key=lambda m: m["patient"])


class Cancellation:
    def __init__(self, client: httpx.Client, acting_as: Opener, gateway: Receiver):
        self.client = client
        self.clinic = open_clinic(client)
        self.hospital = acting_as(
            hospital_context(self.clinic.organization), notify_webhook_url=gateway.url
        )

    def of(self, who: str) -> None:
        cancelled_by_hospital(self.client, self.hospital, self.clinic, who)


def test_a_patient_without_a_phone_is_told_through_each_proxy_in_their_language(
    client: httpx.Client, clean: Backend, acting_as: Opener, gateway: Receiver
) -> None:
    grandmother = person(client, "奶奶", None, birthDate="1940-03-01")
    daughter = person(client, "丽", "+8613800138001")
    son = person(client, "Wei", "+8613800138002", communication=ENGLISH)
    proxy_for(clean, grandmother, daughter)
    proxy_for(clean, grandmother, son)
    Cancellation(client, acting_as, gateway).of(grandmother)
    messages = sent(clean, gateway)
    by_recipient = {m["patient"]: m for m in messages}
    assert set(by_recipient) == {f"Patient/{daughter}", f"Patient/{son}"}
    to_daughter, to_son = by_recipient[f"Patient/{daughter}"], by_recipient[f"Patient/{son}"]
    assert to_daughter["to"] == [{"system": "sms", "value": "+8613800138001"}]
    assert to_daughter["text"] == f"代王奶奶接收：{CHANGED_ZH}"
    assert to_son["to"] == [{"system": "sms", "value": "+8613800138002"}]
    assert to_son["text"] == f"For 王奶奶: {CHANGED_EN}"
    for message in messages:
        assert message["onBehalfOf"] == f"Patient/{grandmother}"
        assert message["topic"] == "appointment-changed"
        assert "ill" not in json.dumps(message)
    recorded = client.get("/Communication", params={"subject": f"Patient/{grandmother}"}).json()
    assert [e["resource"]["payload"] for e in recorded["entry"]] == [
        [{"contentString": CHANGED_ZH}]
    ]


def test_a_patient_with_a_phone_is_told_themselves_not_their_proxies(
    client: httpx.Client, clean: Backend, acting_as: Opener, gateway: Receiver
) -> None:
    father = person(client, "爸爸", "+8613800138003")
    son = person(client, "伟", "+8613800138004")
    proxy_for(clean, father, son)
    Cancellation(client, acting_as, gateway).of(father)
    [message] = sent(clean, gateway)
    assert message["patient"] == f"Patient/{father}"
    assert message["onBehalfOf"] is None
    assert message["text"] == CHANGED_ZH


def test_an_ended_proxy_is_not_told_and_nobody_left_means_the_patient_s_own_notice(
    client: httpx.Client, clean: Backend, acting_as: Opener, gateway: Receiver
) -> None:
    grandfather = person(client, "爷爷", None)
    grandson = person(client, "明", "+8613800138005")
    proxy_id = proxy_for(clean, grandfather, grandson)
    with clean.database.session(write=True) as session:
        found = proxies.found(session, proxy_id)
        assert found is not None
        proxies.revoke(session, fhir_server(clean.settings), found, clock.now())
    Cancellation(client, acting_as, gateway).of(grandfather)
    [message] = sent(clean, gateway)
    assert message["patient"] == f"Patient/{grandfather}"
    assert message["to"] == []  # the gateway is told whom it could not reach
    assert message["text"] == CHANGED_ZH


@pytest.mark.parametrize(("categorised", "told"), [("LAB", True), ("sexual-health", False)])
def test_a_guardian_is_told_only_of_results_they_may_read(
    client: httpx.Client,
    clean: Backend,
    acting_as: Opener,
    gateway: Receiver,
    categorised: str,
    told: bool,
) -> None:
    child = person(
        client,
        "小明",
        None,
        birthDate=born(13, days=-30),
        identifier=[{"system": NATIONAL_ID, "value": "teen-1"}],
    )
    mother = person(client, "美", "+8613800138006")
    proxy_for(clean, child, mother, proxies.GUARDIAN)
    lab = acting_as(
        hospital_context(post(client, {"resourceType": "Organization", "name": "Lab"})["id"])
    )
    entries = report_with_pdf("teen-1", "r", category(PRIVATE, categorised))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    assert lab.post("/", json=bundle, headers=FHIR_JSON).status_code == 200
    settings = clean.settings.model_copy(
        update={
            "notify_webhook_url": gateway.url,
            "guardian_withheld_results": f"{PRIVATE}|sexual-health=12",
        }
    )
    [release] = [
        j for j in jobs.jobs(fhir_server(settings), settings) if j.name == "release-results"
    ]
    jobs.run_once(clean.database, release, clock.now())
    messages = sent(clean, gateway)
    [message] = messages  # one notice: the report's (its PDF is told of by it)
    if told:
        assert message["patient"] == f"Patient/{mother}"
        assert message["text"] == f"代王小明接收：{RESULT_ZH}"
    else:  # nobody may be told in the child's place: the child's own notice, reaching no one
        assert message["patient"] == f"Patient/{child}"
        assert message["to"] == []
