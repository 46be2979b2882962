"""The app's pages for acting for a family member: another adult's code sent to their phone,
given back on the next page, and the proxy made; a parent adding their child with the child's
number; what is refused said on the page. Over HTTP, on both databases."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from medsvc.access import proxies
from tests.conftest import Backend, Kept
from tests.factories import FHIR_JSON
from tests.identity.conftest import (
    CHILD,
    PASSWORD,
    Gatewayed,
    code_in,
    codes_sent,
    gatewayed_with,
    origin,
    sign_up,
)
from tests.security.conftest import add_person, form_fields
from tests.subscriptions.receiver import Receiver
from tests.web.conftest import sign_in, signed_in

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


@pytest.mark.parametrize(
    ("path", "typed"),
    [
        ("/app/proxies/ask", {"phone": NAINAI, "relationship": "CHILD"}),
        ("/app/proxies/child", {"name": "王小明", "number": CHILD, "relationship": "MTH"}),
    ],
)
def test_the_forms_need_the_page_s_token(
    phone: httpx.Client,
    clean: Backend,
    gatewayed: Gatewayed,
    client: httpx.Client,
    path: str,
    typed: dict[str, str],
) -> None:
    family(client, clean)
    signed_in(phone, "mei")
    assert phone.post(path, data=typed).status_code == 403
    assert codes_sent(clean, gatewayed) == []
    with clean.database.session(write=False) as session:
        assert proxies.listed(session, None, None) == []


@contextmanager
def parent_on(server: Gatewayed, clean: Backend) -> Iterator[httpx.Client]:
    """A real-name parent (signed up with their identity number) signed in to the app."""
    with httpx.Client(base_url=server.server.url, timeout=30) as signing_up:
        assert sign_up(signing_up, clean, server).status_code == 302
    with httpx.Client(
        base_url=server.server.url, timeout=30, headers={"Accept-Language": "en"}
    ) as browser:
        yield parent_signed_in(browser)


def parent_signed_in(browser: httpx.Client) -> httpx.Client:
    assert sign_in(browser, "+8613800138000", PASSWORD).status_code == 303
    return browser


def add_child(browser: httpx.Client, number: str = CHILD, **typed: str) -> httpx.Response:
    form = browser.get("/app/proxies/child")
    assert form.status_code == 200, form.text
    fields = {"name": "王小明", "number": number, "relationship": "MTH", **typed}
    return browser.post(
        "/app/proxies/child",
        data={**form_fields(form.text), **fields},
        headers={"Origin": origin(browser)},
    )


def test_a_parent_adds_their_child_in_the_app(
    clean: Backend, kept: Kept, sms_gateway: Receiver
) -> None:
    server = gatewayed_with(clean, kept, sms_gateway, "tests.identity.providers:Vouching")
    with parent_on(server, clean) as browser:
        done = add_child(browser, "1101 0520 1506 0100 24")  # spaces as people type them
    assert done.status_code == 200, done.text
    assert "act for them" in done.text
    with clean.database.session(write=False) as session:
        [made] = proxies.listed(session, None, None)
    assert (made.kind, made.relationship, made.established_by) == ("guardian", "MTH", "provider")


@pytest.mark.parametrize(
    ("provider", "number", "typed", "status", "said"),
    [
        ("Vouching", "110105201506010025", {}, 422, "not a resident identity number"),
        ("Vouching", CHILD, {"name": "  "}, 422, "type the child's name"),
        ("Vouching", CHILD, {"relationship": "CHILD"}, 422, "You are the child"),
        ("NoHousehold", CHILD, {}, 422, "could not confirm"),
        ("FailingHousehold", CHILD, {}, 503, "could not answer"),
    ],
)
def test_the_child_page_says_what_was_refused(
    clean: Backend,
    kept: Kept,
    sms_gateway: Receiver,
    provider: str,
    number: str,
    typed: dict[str, str],
    status: int,
    said: str,
) -> None:
    vouching = gatewayed_with(clean, kept, sms_gateway, "tests.identity.providers:Vouching")
    with parent_on(vouching, clean):
        pass
    server = gatewayed_with(clean, kept, sms_gateway, f"tests.identity.providers:{provider}")
    with httpx.Client(
        base_url=server.server.url, timeout=30, headers={"Accept-Language": "en"}
    ) as browser:
        refused = add_child(parent_signed_in(browser), number, **typed)
    assert refused.status_code == status, refused.text
    assert said in refused.text
    assert 'value="王小明"' in refused.text or typed.get("name")  # what was typed stays
    with clean.database.session(write=False) as session:
        assert proxies.listed(session, None, None) == []


def test_an_account_without_an_identity_document_is_told_why(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    family(client, clean)
    signed_in(phone, "mei")
    refused = add_child(phone)
    assert refused.status_code == 403
    assert "Only an account opened with an identity document" in refused.text


def test_the_child_page_is_for_a_signed_in_citizen(phone: httpx.Client) -> None:
    assert phone.get("/app/proxies/child").status_code == 401
    assert phone.post("/app/proxies/child", data={"name": "王小明"}).status_code in (401, 403)
