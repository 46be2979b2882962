"""Patient/$proxy-activity: a patient reads what the people acting for them did in their name,
from the audit trail, signed in as production signs them in; nobody else does, not even the
proxy; no proxy's activity for another patient is ever listed."""

from typing import Any

import httpx
import pytest

from medsvc.audit import trail
from medsvc.security.context import AuthContext
from tests.access.test_proxies import (
    Family,
    consented,
    fhir,
    made,
    own_token,
    tokens_for,
    years_ago,
)
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import practitioner_context
from tests.security.conftest import App, acting_as, app, fhir_base, http

__all__ = ["acting_as", "app", "fhir_base", "http"]


@pytest.fixture
def family(client: httpx.Client, clean: Backend) -> Family:
    return Family(client, clean)


def activity(api: httpx.Client, patient: str, **params: str) -> httpx.Response:
    return api.get(f"/Patient/{patient}/$proxy-activity", params=params)


def accesses(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    listed = []
    for parameter in response.json().get("parameter", []):
        assert parameter["name"] == "access"
        listed.append(
            {p["name"]: next(v for k, v in p.items() if k != "name") for p in parameter["part"]}
        )
    return listed


def acted(app: App, proxy_id: str, grandmother: str, other: str) -> None:
    """The proxy reads the grandmother's record, searches her appointments, and reaches
    for another patient's record (refused)."""
    with fhir(app, tokens_for(app, proxy_id)["access_token"]) as api:
        assert api.get(f"/Patient/{grandmother}").status_code == 200
        assert (
            api.get("/Appointment", params={"patient": f"Patient/{grandmother}"}).status_code == 200
        )
        assert api.get(f"/Patient/{other}").status_code == 404
    app.http.cookies.clear()
    trail.flush_all()


def test_a_patient_reads_what_their_proxy_did_newest_first(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    grandmother, proxy_id = consented(family, client)
    acted(app, proxy_id, grandmother, family.other_child)
    with own_token(app, grandmother, clean, "nainai") as api:
        listed = accesses(activity(api, grandmother))
    assert [(a["interaction"], a.get("type"), a["succeeded"]) for a in listed] == [
        ("read", "Patient", False),
        ("search-type", "Appointment", True),
        ("read", "Patient", True),
    ]
    for access in listed:
        assert access["by"] == {"reference": f"RelatedPerson/{proxy_id}"}
        assert access["name"] == "王美"
        assert access["when"].endswith("Z")
    assert set(listed[0]) == {"when", "by", "name", "interaction", "type", "succeeded"}


def test_a_proxy_s_operations_are_named_and_an_ended_proxy_s_activity_stays(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    grandmother, proxy_id = consented(family, client)
    with fhir(app, tokens_for(app, proxy_id)["access_token"]) as api:
        waiting = api.get(f"/Patient/{grandmother}/$waiting-results")
        assert waiting.status_code == 200, waiting.text
    app.http.cookies.clear()
    family.revoke(proxy_id)
    trail.flush_all()
    with own_token(app, grandmother, clean, "nainai") as api:
        [access] = accesses(activity(api, grandmother))
    assert (access["interaction"], access["operation"], access["type"]) == (
        "operation",
        "waiting-results",
        "Patient",
    )


def test_a_patient_without_proxies_has_nothing_listed_and_count_limits(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    alone = made(client, "李", "四", years_ago(50))
    with own_token(app, alone, clean, "lisi") as api:
        assert accesses(activity(api, alone)) == []
    grandmother, proxy_id = consented(family, client)
    acted(app, proxy_id, grandmother, family.other_child)
    with own_token(app, grandmother, clean, "nainai") as api:
        assert len(accesses(activity(api, grandmother, count="2"))) == 2
        body = {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 1}]}
        posted = api.post(f"/Patient/{grandmother}/$proxy-activity", json=body, headers=FHIR_JSON)
        assert len(accesses(posted)) == 1
        for wrong in ("0", "101", "-1", "1.5", "x", ""):
            refused = activity(api, grandmother, count=wrong)
            assert refused.status_code == 400, (wrong, refused.text)
            assert refused.json()["resourceType"] == "OperationOutcome"


def test_nobody_but_the_patient_reads_it(
    app: App,
    family: Family,
    client: httpx.Client,
    clean: Backend,
    acting_as: Any,
) -> None:
    grandmother, proxy_id = consented(family, client)
    child_proxy = family.add(family.child)
    with fhir(app, tokens_for(app, proxy_id)["access_token"]) as as_proxy:
        assert activity(as_proxy, grandmother).status_code == 403  # the proxy, for her
    app.http.cookies.clear()
    with fhir(app, tokens_for(app, child_proxy)["access_token"]) as for_child:
        assert activity(for_child, grandmother).status_code == 403  # another of mei's choices
        assert activity(for_child, family.child).status_code == 403  # a proxy, for the child
    app.http.cookies.clear()
    with own_token(app, grandmother, clean, "nainai") as api:
        assert activity(api, family.parent).status_code == 403  # another patient
        assert activity(api, "not-a-patient").status_code == 403
    doctor = acting_as(
        practitioner_context(
            client.post(
                "/Practitioner", json={"resourceType": "Practitioner"}, headers=FHIR_JSON
            ).json()["id"]
        )
    )
    assert activity(doctor, grandmother).status_code == 403
    admin = acting_as(AuthContext(subject="admin", role="admin", scopes=frozenset({"user/*.rs"})))
    assert activity(admin, grandmother).status_code == 403


def test_another_patient_s_proxy_activity_is_never_listed(
    app: App, family: Family, client: httpx.Client, clean: Backend
) -> None:
    grandmother, _ = consented(family, client)
    child_proxy = family.add(family.child)
    with fhir(app, tokens_for(app, child_proxy)["access_token"]) as api:
        assert api.get(f"/Patient/{family.child}").status_code == 200
    app.http.cookies.clear()
    trail.flush_all()
    with own_token(app, grandmother, clean, "nainai") as api:
        assert accesses(activity(api, grandmother)) == []
    with own_token(app, family.child, clean, "xiaoming") as api:
        [access] = accesses(activity(api, family.child))
    assert access["by"] == {"reference": f"RelatedPerson/{child_proxy}"}
