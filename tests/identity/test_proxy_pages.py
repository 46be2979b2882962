"""The app's page for acting for another adult: the code sent to their phone, given back on the
next page, and the proxy made; a wrong code said on the page. Over HTTP, on both databases."""

import httpx

from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.identity.conftest import Gatewayed, code_in, codes_sent
from tests.security.conftest import add_person, form_fields
from tests.web.conftest import signed_in

NAINAI = "+8613900139000"


def family(client: httpx.Client, clean: Backend) -> None:
    for username, name in (("mei", "王美"), (NAINAI, "王奶奶")):
        body = {"resourceType": "Patient", "name": [{"text": name}], "birthDate": "1950-01-01"}
        patient_id = client.post("/Patient", json=body, headers=FHIR_JSON).json()["id"]
        add_person(clean, "patient", username, f"Patient/{patient_id}")


def test_a_citizen_becomes_their_mother_s_proxy_with_the_code_she_tells_them(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    family(client, clean)
    signed_in(phone, "mei")
    form = phone.get("/app/proxies/ask")
    assert form.status_code == 200
    origin = {"Origin": str(phone.base_url).rstrip("/")}
    typed = {"phone": "139 0013 9000", "relationship": "CHILD"}
    asked = phone.post("/app/proxies/ask", data={**form_fields(form.text), **typed}, headers=origin)
    assert asked.status_code == 200, asked.text
    [message] = codes_sent(clean, gatewayed)
    code = code_in(message)
    wrong = phone.post(
        "/app/proxies/accept",
        data={**form_fields(asked.text), "code": f"{(int(code) + 1) % 1_000_000:06d}"},
        headers=origin,
    )
    assert wrong.status_code == 422
    assert "wrong or has expired" in wrong.text
    done = phone.post(
        "/app/proxies/accept", data={**form_fields(asked.text), "code": code}, headers=origin
    )
    assert done.status_code == 200, done.text
    assert "act for them" in done.text


def test_the_form_needs_the_page_s_token(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    family(client, clean)
    signed_in(phone, "mei")
    forged = phone.post("/app/proxies/ask", data={"phone": NAINAI, "relationship": "CHILD"})
    assert forged.status_code == 403
    assert codes_sent(clean, gatewayed) == []
