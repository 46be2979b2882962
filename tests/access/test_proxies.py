"""Family proxies on both databases: a parent signs in, picks their child in SMART's patient
picker and acts for the child only; a proxy of one patient never reaches another; a revoked
proxy's tokens stop working within a second; a child's proxy ends on their birthday of the
configured age; the proxy is the audit's agent and the child its entity."""

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest

from medsvc import clock, jobs
from medsvc.access import proxies
from medsvc.assembly import fhir_server
from medsvc.audit import trail
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import add_slots, booked, hospital_context, open_clinic, parameters
from tests.security.conftest import App, add_person, form_fields

SCOPE = "launch/patient openid fhirUser offline_access patient/*.cruds"


def made(client: httpx.Client, family: str, given: str, born: str) -> str:
    resource = {
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "birthDate": born,
    }
    response = client.post("/Patient", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def years_ago(years: int, days: int = 0) -> str:
    today = clock.now().date()
    return (
        date(today.year - years, today.month, min(today.day, 28)) + timedelta(days=days)
    ).isoformat()


class Family:
    def __init__(self, client: httpx.Client, clean: Backend):
        self.parent = made(client, "王", "美", years_ago(38))
        self.child = made(client, "王", "小明", years_ago(8))
        self.other_child = made(client, "李", "小红", years_ago(7))
        add_person(clean, "patient", "mei", f"Patient/{self.parent}")
        self.backend = clean
        self.server = fhir_server(clean.settings)

    def add(self, patient: str, kind: str = proxies.GUARDIAN, relationship: str = "MTH") -> str:
        proposal = proxies.NewProxy(patient, self.parent, relationship, kind, "operator")
        with self.backend.database.session(write=True) as session:
            return proxies.add(session, self.server, proposal, proxies.ChildAge(14), clock.now()).id

    def revoke(self, proxy_id: str) -> int:
        with self.backend.database.session(write=True) as session:
            found = proxies.found(session, proxy_id)
            assert found is not None
            return proxies.revoke(session, self.server, found, clock.now())


@pytest.fixture
def family(client: httpx.Client, clean: Backend) -> Family:
    return Family(client, clean)


def picker(app: App) -> httpx.Response:
    """Signs the parent in: the answer is the way to the patient picker."""
    signed = app.sign_in("mei", scope=SCOPE)
    assert signed.status_code == 302, signed.text
    assert urlsplit(signed.headers["location"]).path == "/auth/choose"
    page = app.http.get(signed.headers["location"])
    assert page.status_code == 200, page.text
    return page


def choose(app: App, page: httpx.Response, picked: str, **headers: str) -> httpx.Response:
    fields = {**form_fields(page.text), "patient": picked}
    origin = {"Origin": str(app.http.base_url).rstrip("/"), **headers}
    return app.http.post("/auth/choose", data=fields, headers=origin)


def tokens_for(app: App, picked: str) -> dict[str, Any]:
    chosen = choose(app, picker(app), picked)
    assert chosen.status_code == 302, chosen.text
    code = parse_qs(urlsplit(chosen.headers["location"]).query)["code"][0]
    exchanged = app.exchange(code)
    assert exchanged.status_code == 200, exchanged.text
    return dict(exchanged.json())


def fhir(app: App, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{app.fhir_base}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        timeout=30,
    )


def test_a_parent_picks_their_child_and_acts_for_the_child_only(
    app: App, family: Family, client: httpx.Client
) -> None:
    proxy_id = family.add(family.child)
    page = picker(app)
    assert "王小明" in page.text
    assert "李小红" not in page.text
    body = tokens_for(app, proxy_id)
    assert body["patient"] == family.child
    with fhir(app, body["access_token"]) as api:
        assert api.get(f"/Patient/{family.child}").status_code == 200
        assert api.get(f"/Patient/{family.other_child}").status_code == 404
        assert api.get(f"/Patient/{family.parent}").status_code == 404
    related = client.get(f"/RelatedPerson/{proxy_id}").json()
    assert related["patient"] == {"reference": f"Patient/{family.child}"}
    assert related["relationship"][0]["coding"][0]["code"] == "MTH"
    assert related["active"] is True
    assert "end" in related["period"]  # the child's 14th birthday


def test_choosing_myself_acts_for_myself(app: App, family: Family) -> None:
    family.add(family.child)
    body = tokens_for(app, "myself")
    assert body["patient"] == family.parent


def test_without_proxies_there_is_no_picker(app: App, family: Family) -> None:
    signed = app.sign_in("mei", scope=SCOPE)
    assert signed.status_code == 302
    assert "code=" in signed.headers["location"]


def test_a_parent_books_for_their_child_and_not_for_another(
    app: App, family: Family, client: httpx.Client
) -> None:
    clinic = open_clinic(client)
    first, second = add_slots(
        client, clinic.schedule, 2, first=datetime.now(UTC) + timedelta(days=3)
    )
    body = tokens_for(app, family.add(family.child))
    with fhir(app, body["access_token"]) as api:
        mine = parameters(slot=f"Slot/{first}", patient_id=f"Patient/{family.child}")
        booking = booked(api.post("/Appointment/$book", json=mine, headers=FHIR_JSON))
        assert {"reference": f"Patient/{family.child}"} in [
            p["actor"] for p in booking["participant"]
        ]
        theirs = parameters(slot=f"Slot/{second}", patient_id=f"Patient/{family.other_child}")
        refused = api.post("/Appointment/$book", json=theirs, headers=FHIR_JSON)
    assert refused.status_code == 403, refused.text


@pytest.mark.parametrize("picked", ["not-a-proxy", "", "myself2"])
def test_a_choice_not_offered_is_refused(app: App, family: Family, picked: str) -> None:
    family.add(family.child)
    assert choose(app, picker(app), picked).status_code == 400


def test_another_family_s_proxy_is_never_a_choice(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    """The IDOR a proxy could try: naming a proxy relationship that is someone else's."""
    family.add(family.child)
    stranger = made(client, "张", "伟", years_ago(40))
    theirs = proxies.NewProxy(family.other_child, stranger, "FTH", proxies.GUARDIAN, "operator")
    with clean.database.session(write=True) as session:
        other_id = proxies.add(session, family.server, theirs, proxies.ChildAge(14), clock.now()).id
    assert choose(app, picker(app), other_id).status_code == 400


def test_a_choice_is_made_once_and_only_in_the_browser_that_signed_in(
    app: App, family: Family, fhir_base: str
) -> None:
    proxy_id = family.add(family.child)
    page = picker(app)
    with httpx.Client(base_url=str(app.http.base_url), timeout=30) as stranger:
        fields = {**form_fields(page.text), "patient": proxy_id}
        origin = {"Origin": str(app.http.base_url).rstrip("/")}
        assert stranger.post("/auth/choose", data=fields, headers=origin).status_code == 403
    assert choose(app, page, proxy_id, Origin="https://evil.example").status_code == 403
    assert choose(app, page, proxy_id).status_code == 302
    assert choose(app, page, proxy_id).status_code == 403  # spent


def test_a_revoked_proxy_s_tokens_stop_working_within_a_second(app: App, family: Family) -> None:
    proxy_id = family.add(family.child)
    body = tokens_for(app, proxy_id)
    with fhir(app, body["access_token"]) as api:
        assert api.get(f"/Patient/{family.child}").status_code == 200
        assert family.revoke(proxy_id) == 1
        deadline, status = time.monotonic() + 5, 200
        while status == 200 and time.monotonic() < deadline:
            status = api.get(f"/Patient/{family.child}").status_code
            time.sleep(0.1)
    assert status == 401
    refreshed = app.http.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.status_code == 400
    assert app.sign_in("mei", scope=SCOPE).headers["location"].find("/auth/choose") == -1


def test_a_child_s_proxy_ends_on_their_birthday(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    turning = made(client, "王", "小华", years_ago(14, days=2))  # 14 in two days' time
    proxy_id = family.add(turning)
    body = tokens_for(app, proxy_id)
    assert body["patient"] == turning
    later = clock.now() + timedelta(days=3)
    clock.set_source(lambda: later)
    [ending] = [j for j in jobs.jobs(family.server, clean.settings) if j.name == "end-proxies"]
    assert jobs.run_once(clean.database, ending, later) == 1
    refreshed = app.http.post(
        "/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.status_code == 400
    signed = app.sign_in("mei", scope=SCOPE)
    assert "/auth/choose" not in signed.headers["location"]  # nobody left to act for


def test_the_proxy_is_the_audit_s_agent_and_the_child_its_entity(
    app: App, family: Family, client: httpx.Client
) -> None:
    proxy_id = family.add(family.child)
    body = tokens_for(app, proxy_id)
    with fhir(app, body["access_token"]) as api:
        assert api.get(f"/Patient/{family.child}").status_code == 200
    trail.flush_all()
    events = client.get(
        "/AuditEvent", params={"entity": f"Patient/{family.child}", "_count": "100"}
    ).json()
    read = [
        e["resource"]
        for e in events.get("entry", [])
        if e["resource"].get("subtype", [{}])[0].get("code") == "read"
    ]
    assert read, events
    agents = [a["who"] for a in read[-1]["agent"]]
    assert {"reference": f"RelatedPerson/{proxy_id}"} in agents
    assert {"reference": f"Patient/{family.child}"} not in agents


def consented(family: Family, client: httpx.Client) -> tuple[str, str]:
    """Grandmother (an adult) consented that mei acts for her; returns (patient, proxy)."""
    grandmother = made(client, "王", "奶奶", years_ago(80))
    return grandmother, family.add(grandmother, proxies.CONSENTED, "CHILD")


def end(api: httpx.Client, proxy_id: str, **changes: Any) -> httpx.Response:
    current = api.get(f"/RelatedPerson/{proxy_id}")
    assert current.status_code == 200, current.text
    body = {**current.json(), "active": False, **changes}
    return api.put(
        f"/RelatedPerson/{proxy_id}",
        json=body,
        headers={**FHIR_JSON, "If-Match": current.headers["etag"]},
    )


def own_token(app: App, patient_id: str, clean: Backend, username: str) -> httpx.Client:
    add_person(clean, "patient", username, f"Patient/{patient_id}")
    signed = app.sign_in(username, scope=SCOPE)
    code = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
    return fhir(app, app.exchange(code).json()["access_token"])


def test_an_adult_ends_a_proxy_they_consented_to_and_its_tokens_stop(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    grandmother, proxy_id = consented(family, client)
    proxy_token = tokens_for(app, proxy_id)["access_token"]
    app.http.cookies.clear()
    with own_token(app, grandmother, clean, "nainai") as api:
        assert end(api, proxy_id).status_code == 200
    with fhir(app, proxy_token) as acting:
        deadline, status = time.monotonic() + 5, 200
        while status == 200 and time.monotonic() < deadline:
            status = acting.get(f"/Patient/{grandmother}").status_code
            time.sleep(0.1)
    assert status == 401
    with clean.database.session(write=False) as session:
        found = proxies.found(session, proxy_id)
    assert found is not None
    assert found.revoked_at is not None


def test_a_proxy_may_stop_acting_for_someone(
    app: App, family: Family, client: httpx.Client
) -> None:
    _grandmother, proxy_id = consented(family, client)
    with fhir(app, tokens_for(app, proxy_id)["access_token"]) as acting:
        assert end(acting, proxy_id).status_code == 200


def test_a_child_cannot_end_their_guardian_s_proxy(
    app: App, family: Family, clean: Backend
) -> None:
    proxy_id = family.add(family.child)
    with own_token(app, family.child, clean, "xiaoming") as child:
        assert end(child, proxy_id).status_code == 403


@pytest.mark.parametrize(
    "changes",
    [
        {"active": True, "patient": {"reference": "Patient/x"}},  # no end, another patient
        {"active": False, "relationship": [{"coding": [{"code": "SPS"}]}]},
        {"active": False, "name": [{"text": "someone else"}]},
    ],
)
def test_a_citizen_may_only_end_a_related_person_never_change_it(
    app: App, family: Family, client: httpx.Client, clean: Backend, changes: dict[str, Any]
) -> None:
    grandmother, proxy_id = consented(family, client)
    with own_token(app, grandmother, clean, "nainai") as api:
        assert end(api, proxy_id, **changes).status_code in (403, 404)


def test_a_citizen_may_not_make_a_related_person(app: App, family: Family, clean: Backend) -> None:
    with own_token(app, family.parent, clean, "mei2") as api:
        made_one = api.post(
            "/RelatedPerson",
            json={
                "resourceType": "RelatedPerson",
                "patient": {"reference": f"Patient/{family.parent}"},
            },
            headers=FHIR_JSON,
        )
    assert made_one.status_code == 403


RESIDENT = "urn:medsvc:identifier:cn-resident-id"


GRANDMOTHER_NUMBER = "110105195502030028"


def in_person(
    hospital: httpx.Client,
    patient_number: str,
    number: str,
    relationship: str,
    system: str = RESIDENT,
) -> httpx.Response:
    """The RelatedPerson as a hospital's system records it, naming the patient by identifier
    (which brings them into the hospital's view) in a transaction."""
    body = {
        "resourceType": "RelatedPerson",
        "patient": {"reference": f"Patient?identifier={RESIDENT}|{patient_number}"},
        "identifier": [{"system": system, "value": number}],
        "relationship": [{"coding": [{"system": proxies.V3_ROLE, "code": relationship}]}],
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": body, "request": {"method": "POST", "url": "RelatedPerson"}}],
    }
    response = hospital.post("/", json=bundle, headers=FHIR_JSON)
    if response.status_code != 200:
        return response
    location = response.json()["entry"][0]["response"]["location"]
    return hospital.get("/" + location.split("/_history")[0].split("/fhir/")[-1])


def registered(client: httpx.Client, patient_id: str, name: str, number: str) -> None:
    response = client.put(
        f"/Patient/{patient_id}",
        json={
            "resourceType": "Patient",
            "id": patient_id,
            "name": [{"text": name}],
            "birthDate": "1955-02-03",
            "identifier": [{"system": RESIDENT, "value": number}],
        },
        headers=FHIR_JSON,
    )
    assert response.status_code == 200, response.text


def test_a_hospital_records_a_proxy_in_person_and_ends_it(
    app: App, family: Family, client: httpx.Client, clean: Backend, acting_as: Any
) -> None:
    number = "110105198504120014"
    registered(client, family.parent, "王美", number)
    grandmother = made(client, "王", "奶奶", years_ago(80))
    registered(client, grandmother, "王奶奶", GRANDMOTHER_NUMBER)
    org = client.post(
        "/Organization", json={"resourceType": "Organization", "name": "H"}, headers=FHIR_JSON
    )
    hospital = acting_as(hospital_context(org.json()["id"]))
    recorded = in_person(hospital, GRANDMOTHER_NUMBER, number, "CHILD")
    assert recorded.status_code == 200, recorded.text
    proxy_id = recorded.json()["id"]
    page = picker(app)
    assert "王奶奶" in page.text
    body = tokens_for(app, proxy_id)
    assert body["patient"] == grandmother
    ended = {**recorded.json(), "active": False}
    response = hospital.put(f"/RelatedPerson/{proxy_id}", json=ended, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    with clean.database.session(write=False) as session:
        found = proxies.found(session, proxy_id)
    assert found is not None
    assert (found.established_by, found.kind) == ("hospital", "consented")
    assert found.revoked_at is not None


@pytest.mark.parametrize(
    ("number", "relationship", "system"),
    [
        ("110105199003071239", "CHILD", RESIDENT),  # nobody registered with that number
        ("110105198504120014", "SELF", RESIDENT),  # no proxy's relationship
        ("110105198504120014", "CHILD", "urn:oid:1.2.246.21"),  # not a resident number
    ],
)
def test_a_hospital_s_proxy_needs_a_registered_person_and_a_proxy_s_relationship(
    family: Family,
    client: httpx.Client,
    clean: Backend,
    acting_as: Any,
    number: str,
    relationship: str,
    system: str,
) -> None:
    registered(client, family.parent, "王美", "110105198504120014")
    grandmother = made(client, "王", "奶奶", years_ago(80))
    registered(client, grandmother, "王奶奶", GRANDMOTHER_NUMBER)
    org = client.post(
        "/Organization", json={"resourceType": "Organization", "name": "H"}, headers=FHIR_JSON
    )
    hospital = acting_as(hospital_context(org.json()["id"]))
    refused = in_person(hospital, GRANDMOTHER_NUMBER, number, relationship, system)
    assert refused.status_code == 422, refused.text
    with clean.database.session(write=False) as session:
        assert proxies.listed(session, grandmother, None) == []


def test_a_picker_s_code_is_worth_nothing_once_the_proxy_is_revoked(
    app: App, family: Family
) -> None:
    proxy_id = family.add(family.child)
    chosen = choose(app, picker(app), proxy_id)
    code = parse_qs(urlsplit(chosen.headers["location"]).query)["code"][0]
    family.revoke(proxy_id)
    assert app.exchange(code).status_code == 400


def test_a_child_gives_no_consent(family: Family) -> None:
    with pytest.raises(proxies.ProxyRefused):
        family.add(family.child, proxies.CONSENTED, "CHILD")


def test_the_platform_ending_a_related_person_ends_the_proxy(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    _grandmother, proxy_id = consented(family, client)
    assert end(client, proxy_id).status_code == 200
    with clean.database.session(write=False) as session:
        found = proxies.found(session, proxy_id)
    assert found is not None
    assert found.revoked_at is not None


@pytest.mark.parametrize(
    ("born", "ends"),
    [
        ("2014-12-08", datetime(2028, 12, 7, 16, 0, tzinfo=UTC)),  # 00:00 in Shanghai
        ("2012-02-29", datetime(2026, 2, 28, 16, 0, tzinfo=UTC)),  # 1 March in a common year
    ],
)
def test_a_child_s_proxy_ends_at_midnight_in_the_city_s_time_zone(
    born: str, ends: datetime
) -> None:
    shanghai = proxies.ChildAge(14, ZoneInfo("Asia/Shanghai"))
    found = proxies.guardian_end({"birthDate": born}, shanghai, datetime(2020, 1, 1, tzinfo=UTC))
    assert found == ends
