"""Signing in with a code to the account's mobile number, and a new password by phone code,
over HTTP on both databases: a code only for a citizen's account that may sign in so, the
same answer for any number, tries and quotas, and a new password that signs out the old."""

import httpx
import pytest
from sqlalchemy import func, select, update

from medsvc import clock
from medsvc.audit.events import ACCOUNT_SYSTEM
from medsvc.security import totp
from medsvc.security.tables import Account, RevokedGrant
from tests.conftest import Backend
from tests.identity.conftest import (
    PASSWORD,
    Gatewayed,
    code_in,
    codes_sent,
    origin,
    sign_up,
    start_flow,
)
from tests.security.conftest import form_fields
from tests.security.test_audit import events

NEW_PASSWORD = "another long enough password"
NUMBER = "13800138000"


def post(client: httpx.Client, path: str, fields: dict[str, str], **typed: str) -> httpx.Response:
    return client.post(path, data={**fields, **typed}, headers={"Origin": origin(client)})


def ask(client: httpx.Client, flow: str, number: str = NUMBER) -> httpx.Response:
    page = post(client, f"/auth/{flow}", start_flow(client, flow), phone=number)
    assert page.status_code == 200, page.text
    return page


def confirm(
    client: httpx.Client, flow: str, page: httpx.Response, code: str, **typed: str
) -> httpx.Response:
    return post(client, f"/auth/{flow}/confirm", form_fields(page.text), code=code, **typed)


def signed_up(phone: httpx.Client, clean: Backend, gatewayed: Gatewayed) -> None:
    """A citizen who signed up, and was signed in to the app (a grant), in another browser."""
    done = sign_up(phone, clean, gatewayed)
    assert phone.get(done.headers["location"]).headers["location"] == "/app/"
    phone.cookies.clear()
    gatewayed.gateway.received.clear()


def password_sign_in(client: httpx.Client, password: str) -> int:
    """The status of the sign-in form's POST: 302 signed in, 200 the form again."""
    start = client.get("/app/signin")
    form = form_fields(client.get(start.headers["location"]).text)
    typed = {"username": NUMBER, "password": password, "otp": ""}
    return post(client, "/auth/authorize", form, **typed).status_code


def account_events_of(client: httpx.Client, account_id: str) -> list[tuple[str, str]]:
    """(subtype, action) of each audit record naming the account."""
    found = []
    for event in events(client):
        for entity in event["entity"]:
            identifier = entity.get("what", {}).get("identifier", {})
            if identifier == {"system": ACCOUNT_SYSTEM, "value": account_id}:
                found.append((event["subtype"][0]["code"], entity["detail"][0]["valueString"]))
    return found


def test_a_citizen_signs_in_with_a_code_to_their_number(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    signed_up(phone, clean, gatewayed)
    page = ask(phone, "code", "138 0013 8000")
    assert "+86 ****8000" in page.text
    [message] = codes_sent(clean, gatewayed)
    assert message["topic"] == "sign-in"
    done = confirm(phone, "code", page, code_in(message))
    assert done.status_code == 302, done.text
    assert phone.get(done.headers["location"]).headers["location"] == "/app/"


def test_a_number_of_no_account_gets_the_same_page_and_no_message(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    signed_up(phone, clean, gatewayed)
    known = ask(phone, "code", NUMBER)
    unknown = ask(phone, "code", "13900139000")
    assert unknown.text.replace("9000", "8000").count("****8000") == known.text.count("****8000")
    assert [m["to"][0]["value"] for m in codes_sent(clean, gatewayed)] == ["+8613800138000"]
    assert confirm(phone, "code", unknown, "000000").status_code == 400


@pytest.mark.parametrize("why", ["disabled", "authenticator", "practitioner"])
def test_no_code_signs_in_an_account_that_may_not_sign_in_so(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, why: str
) -> None:
    signed_up(phone, clean, gatewayed)
    change = {
        "disabled": {"disabled_at": clock.now()},
        "authenticator": {"totp_secret": totp.new_secret()},
        "practitioner": {"role": "practitioner"},
    }[why]
    with clean.database.session(write=True) as session:
        session.execute(update(Account).values(**change))
    ask(phone, "code")
    assert codes_sent(clean, gatewayed) == []


def test_five_wrong_codes_end_a_sign_in_code(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    signed_up(phone, clean, gatewayed)
    page = ask(phone, "code")
    code = code_in(codes_sent(clean, gatewayed)[0])
    for _ in range(5):
        assert confirm(phone, "code", page, f"{(int(code) + 1) % 1_000_000:06d}").status_code == 400
    assert confirm(phone, "code", page, code).status_code == 400


def test_a_sign_in_code_does_not_set_a_password(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    signed_up(phone, clean, gatewayed)
    page = ask(phone, "code")
    code = code_in(codes_sent(clean, gatewayed)[0])
    fields = {**form_fields(page.text), "code": code, "password": NEW_PASSWORD}
    answer = post(phone, "/auth/password/confirm", fields)
    assert answer.status_code == 400
    assert password_sign_in(phone, NEW_PASSWORD) == 200  # the form again: refused
    assert confirm(phone, "code", page, code).status_code == 302  # still good for its own use


def test_a_new_password_by_phone_code_signs_in_and_signs_out_the_old_one(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    signed_up(phone, clean, gatewayed)
    page = ask(phone, "password")
    code = code_in(codes_sent(clean, gatewayed)[0])
    assert confirm(phone, "password", page, code, password="short").status_code == 400
    done = confirm(phone, "password", page, code, password=NEW_PASSWORD)
    assert done.status_code == 302, done.text
    phone.cookies.clear()
    assert password_sign_in(phone, PASSWORD) == 200  # the form again: refused
    phone.cookies.clear()
    assert password_sign_in(phone, NEW_PASSWORD) == 302
    with clean.database.session(write=False) as session:
        account_id = session.execute(select(Account.id)).scalar_one()
        revoked = session.execute(select(func.count()).select_from(RevokedGrant)).scalar_one()
    assert revoked >= 1  # the sign-up's grant
    assert ("update", "reset-password") in account_events_of(client, account_id)


def test_the_sixth_sign_in_code_for_a_number_in_an_hour_waits(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    fields = start_flow(phone, "code")
    for _ in range(5):
        assert post(phone, "/auth/code", fields, phone=NUMBER).status_code == 200
    refused = post(phone, "/auth/code", fields, phone=NUMBER)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 3000


@pytest.mark.parametrize("number", ["", "12345", "13800138000\u0000", "+86 10 1234 5678"])
def test_what_is_no_mobile_number_is_said_on_the_form(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, number: str
) -> None:
    answer = post(phone, "/auth/code", start_flow(phone, "code"), phone=number)
    assert answer.status_code == 400
    assert codes_sent(clean, gatewayed) == []


@pytest.mark.parametrize("flow", ["code", "password"])
def test_a_post_from_another_site_is_refused(
    phone: httpx.Client, gatewayed: Gatewayed, flow: str
) -> None:
    fields = start_flow(phone, flow)
    answer = phone.post(
        f"/auth/{flow}",
        data={**fields, "phone": NUMBER},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
