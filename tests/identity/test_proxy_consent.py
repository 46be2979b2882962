"""An adult consents, by a code to their own phone, that another acts for them: invited by
the asker's app, the code goes to the adult's verified number naming who asks; the asker gives
it back and the proxy is made. The same answer for a number of no account; tries, quotas,
and only a citizen acting for themselves may ask. On both databases, over HTTP."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.identity.conftest import Gatewayed, code_in, codes_sent
from tests.security.conftest import App, add_person, form_fields

SCOPE = "launch/patient openid fhirUser offline_access patient/*.cruds"
NAINAI = "13900139000"


def made(client: httpx.Client, name: str) -> str:
    body = {"resourceType": "Patient", "name": [{"text": name}], "birthDate": "1950-02-03"}
    return str(client.post("/Patient", json=body, headers=FHIR_JSON).json()["id"])


class Family:
    def __init__(self, gatewayed: Gatewayed, clean: Backend, client: httpx.Client):
        self.http = httpx.Client(base_url=gatewayed.server.url, timeout=30)
        self.app = App(self.http, clean, f"{gatewayed.server.url}/fhir")
        self.mei, self.nainai = made(client, "王美"), made(client, "王奶奶")
        add_person(clean, "patient", "mei", f"Patient/{self.mei}")
        add_person(clean, "patient", f"+86{NAINAI}", f"Patient/{self.nainai}")

    def token(self, username: str = "mei") -> httpx.Client:
        signed = self.app.sign_in(username, scope=SCOPE)
        code = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
        token = self.app.exchange(code).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", **FHIR_JSON}
        return httpx.Client(base_url=self.app.fhir_base, headers=headers, timeout=30)


@pytest.fixture
def family(gatewayed: Gatewayed, clean: Backend, client: httpx.Client) -> Any:
    made_family = Family(gatewayed, clean, client)
    yield made_family
    made_family.http.close()


def parameters(**values: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": k, "valueString": v} for k, v in values.items()],
    }


def invite(api: httpx.Client, phone: str = NAINAI, relationship: str = "CHILD") -> httpx.Response:
    return api.post(
        "/Patient/$proxy-invite", json=parameters(phone=phone, relationship=relationship)
    )


def accept(api: httpx.Client, request: str, code: str, phone: str = NAINAI) -> httpx.Response:
    body = parameters(request=request, code=code, phone=phone, relationship="CHILD")
    return api.post("/Patient/$proxy-accept", json=body)


def request_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["parameter"][0]["valueString"])


def test_the_adult_s_code_makes_the_asker_their_proxy(
    family: Family, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    with family.token() as api:
        request = request_of(invite(api, "139 0013 9000"))
        [message] = codes_sent(clean, gatewayed)
        assert message["to"] == [{"system": "sms", "value": f"+86{NAINAI}"}]
        assert "王美" in message["text"]
        done = accept(api, request, code_in(message))
    assert done.status_code == 200, done.text
    related = done.json()["parameter"][0]["valueReference"]["reference"]
    person = client.get(f"/{related}").json()
    assert person["patient"] == {"reference": f"Patient/{family.nainai}"}
    assert person["relationship"][0]["coding"][0]["code"] == "CHILD"
    family.http.cookies.clear()
    signed = family.app.sign_in("mei", scope=SCOPE)
    assert "/auth/choose" in signed.headers["location"]  # she may now act for her mother
    picker = family.http.get(signed.headers["location"])
    chosen = family.http.post(
        "/auth/choose",
        data={**form_fields(picker.text), "patient": related.split("/")[1]},
        headers={"Origin": gatewayed.server.url},
    )
    code = parse_qs(urlsplit(chosen.headers["location"]).query)["code"][0]
    token = family.app.exchange(code).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}", **FHIR_JSON}
    with httpx.Client(base_url=family.app.fhir_base, headers=bearer, timeout=30) as acting:
        assert invite(acting, "13700137000").status_code == 403  # not through a proxy


def test_a_number_of_no_account_gets_the_same_answer_and_no_message(
    family: Family, clean: Backend, gatewayed: Gatewayed
) -> None:
    with family.token() as api:
        request = request_of(invite(api, "13700137000"))
        assert codes_sent(clean, gatewayed) == []
        assert accept(api, request, "123456", "13700137000").status_code == 422


def test_one_s_own_number_makes_no_proxy(
    family: Family, clean: Backend, gatewayed: Gatewayed
) -> None:
    with family.token(f"+86{NAINAI}") as api:
        request_of(invite(api))
    assert codes_sent(clean, gatewayed) == []


def test_a_wrong_code_uses_a_try_and_five_end_it(
    family: Family, clean: Backend, gatewayed: Gatewayed
) -> None:
    with family.token() as api:
        request = request_of(invite(api))
        code = code_in(codes_sent(clean, gatewayed)[0])
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            assert accept(api, request, wrong).status_code == 422
        assert accept(api, request, code).status_code == 422


def test_the_code_serves_only_the_request_number_and_relationship_it_was_sent_for(
    family: Family, clean: Backend, gatewayed: Gatewayed
) -> None:
    with family.token() as api:
        request = request_of(invite(api))
        code = code_in(codes_sent(clean, gatewayed)[0])
        other = parameters(request=request, code=code, phone=NAINAI, relationship="SPS")
        assert api.post("/Patient/$proxy-accept", json=other).status_code == 422


@pytest.mark.parametrize(
    ("phone", "relationship"),
    [("12345", "CHILD"), (NAINAI, "MTH"), (NAINAI, ""), ("", "CHILD")],
)
def test_bad_invitations_are_400(family: Family, phone: str, relationship: str) -> None:
    with family.token() as api:
        assert invite(api, phone, relationship).status_code == 400


def test_only_a_citizen_acting_for_themselves_may_ask(
    family: Family, clean: Backend, client: httpx.Client
) -> None:
    assert invite(client).status_code == 403  # the platform
    with family.token() as api:
        assert invite(api).status_code == 200


def test_the_sixth_invitation_in_an_hour_waits(
    family: Family, clean: Backend, gatewayed: Gatewayed
) -> None:
    with family.token() as api:
        for _ in range(5):
            request_of(invite(api))
        refused = invite(api)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3000


def test_a_sign_in_only_token_may_not_ask(family: Family) -> None:
    """An app granted who the person is (openid), and no data, makes no proxies."""
    signed = family.app.sign_in("mei", scope="openid fhirUser")
    code = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
    token = family.app.exchange(code).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}", **FHIR_JSON}
    with httpx.Client(base_url=family.app.fhir_base, headers=bearer, timeout=30) as api:
        assert invite(api).status_code == 403
        assert accept(api, "any", "123456").status_code == 403
