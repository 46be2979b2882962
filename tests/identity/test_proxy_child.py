"""A parent becomes their child's proxy with the child's identity number, when the city's
verification provider confirms the relationship; without such a provider, or without its
word, nothing is made. Over HTTP, on both databases."""

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from medsvc.access import proxies
from tests.conftest import Backend, Kept
from tests.factories import FHIR_JSON
from tests.identity.conftest import CHILD, LEI, PASSWORD, Gatewayed, gatewayed_with, sign_up
from tests.security.conftest import PASSWORD as OPERATOR_PASSWORD
from tests.security.conftest import App, add_person
from tests.subscriptions.receiver import Receiver

SCOPE = "launch/patient openid fhirUser offline_access patient/*.cruds"


@contextmanager
def parent_api(
    server: Gatewayed, clean: Backend, username: str = "+8613800138000", password: str = PASSWORD
) -> Iterator[httpx.Client]:
    """The FHIR API with the parent's token, got through the authorization endpoint."""
    with httpx.Client(base_url=server.server.url, timeout=30) as http:
        app = App(http, clean, f"{server.server.url}/fhir")
        signed = app.sign_in(username, password, scope=SCOPE)
        assert signed.status_code == 302, signed.text
        code = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
        token = app.exchange(code).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", **FHIR_JSON}
    with httpx.Client(base_url=f"{server.server.url}/fhir", headers=headers, timeout=30) as api:
        yield api


@contextmanager
def signed_up_on(server: Gatewayed, clean: Backend) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.server.url, timeout=30) as browser:
        assert sign_up(browser, clean, server).status_code == 302
    with parent_api(server, clean) as api:
        yield api


def ask(
    api: httpx.Client, number: str = CHILD, relationship: str = "MTH", name: str = "王小明"
) -> httpx.Response:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "name", "valueString": name},
            {"name": "number", "valueString": number},
            {"name": "relationship", "valueCode": relationship},
        ],
    }
    return api.post("/Patient/$proxy-child", json=body)


def provider_server(clean: Backend, kept: Kept, gateway: Receiver, name: str) -> Gatewayed:
    return gatewayed_with(clean, kept, gateway, f"tests.identity.providers:{name}")


def test_a_confirmed_parent_becomes_the_child_s_proxy(
    clean: Backend, kept: Kept, sms_gateway: Receiver, client: httpx.Client
) -> None:
    with signed_up_on(provider_server(clean, kept, sms_gateway, "Vouching"), clean) as api:
        done = ask(api)
    assert done.status_code == 200, done.text
    related = done.json()["parameter"][0]["valueReference"]["reference"]
    person = client.get(f"/{related}").json()
    child = client.get(f"/{person['patient']['reference']}").json()
    assert child["birthDate"] == "2015-06-01"
    assert child["identifier"][0]["value"] == CHILD
    with clean.database.session(write=False) as session:
        found = proxies.found(session, related.split("/")[1])
    assert found is not None
    assert (found.kind, found.established_by) == ("guardian", "provider")


@pytest.mark.parametrize(
    ("provider", "status"), [("NoHousehold", 422), ("FailingHousehold", 503), ("Failing", 422)]
)
def test_without_the_provider_s_word_nothing_is_made(
    clean: Backend, kept: Kept, sms_gateway: Receiver, provider: str, status: int
) -> None:
    server = provider_server(clean, kept, sms_gateway, "Vouching")
    with signed_up_on(server, clean):
        pass
    other = provider_server(clean, kept, sms_gateway, provider)
    with parent_api(other, clean) as api:
        assert ask(api).status_code == status
    with clean.database.session(write=False) as session:
        assert proxies.listed(session, None, None) == []


def test_the_default_provider_confirms_no_family(clean: Backend, gatewayed: Gatewayed) -> None:
    with signed_up_on(gatewayed, clean) as api:
        refused = ask(api)
    assert refused.status_code == 422
    assert "service desk" in refused.text


@pytest.mark.parametrize(
    ("number", "relationship", "status"),
    [
        (LEI, "MTH", 422),  # born 1985: no child
        ("110105201506010025", "MTH", 400),  # a wrong check character
        (CHILD, "CHILD", 400),  # no parent's relationship
    ],
)
def test_what_makes_no_child_s_proxy(
    clean: Backend, kept: Kept, sms_gateway: Receiver, number: str, relationship: str, status: int
) -> None:
    with signed_up_on(provider_server(clean, kept, sms_gateway, "Vouching"), clean) as api:
        assert ask(api, number, relationship).status_code == status


def test_an_account_without_a_proved_identity_may_not(
    clean: Backend, kept: Kept, sms_gateway: Receiver, client: httpx.Client
) -> None:
    server = provider_server(clean, kept, sms_gateway, "Vouching")
    made = client.post("/Patient", json={"resourceType": "Patient"}, headers=FHIR_JSON)
    add_person(clean, "patient", "operator-made", f"Patient/{made.json()['id']}")
    with parent_api(server, clean, "operator-made", OPERATOR_PASSWORD) as api:
        assert ask(api).status_code == 403


def test_a_parent_asks_about_children_a_bounded_number_of_times_an_hour(
    clean: Backend, kept: Kept, sms_gateway: Receiver
) -> None:
    server = provider_server(clean, kept, sms_gateway, "Vouching")
    with signed_up_on(server, clean):
        pass
    refusing = provider_server(clean, kept, sms_gateway, "NoHousehold")
    with parent_api(refusing, clean) as api:
        # A refusal is answered, not rolled back: each question the provider was asked counts.
        statuses = [ask(api).status_code for _ in range(clean.settings.codes_per_identity_per_hour)]
        assert statuses == [422] * clean.settings.codes_per_identity_per_hour
        over = ask(api)
        assert over.status_code == 429, over.text
        assert 0 < int(over.headers["Retry-After"]) <= 3600
        assert ask(api, number="110105201506010025").status_code == 400  # checked before counted
