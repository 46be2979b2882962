"""Real-name sign-up over HTTP, on both databases: the code read from the local SMS gateway,
the account signed in at once, linked to the hospitals' Patient only when the details prove
it, one identity and one number to one account, and nothing stored by a refused sign-up."""

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from medsvc import clock, jobs
from medsvc.identity.tables import AccountIdentity, CodeQuota, PhoneCode
from medsvc.notify.tables import NoticeWebhook
from medsvc.security.tables import Account
from tests.cli.test_main import medsvc
from tests.conftest import KEYS, Backend, Kept, LiveServer
from tests.factories import FHIR_JSON
from tests.identity.conftest import (
    LEI,
    MEI,
    PASSWORD,
    Gatewayed,
    ask_for_code,
    code_in,
    codes_sent,
    confirm,
    details,
    gatewayed_with,
    origin,
    sign_up,
    start_sign_up,
)
from tests.security.conftest import form_fields
from tests.subscriptions.receiver import Receiver

SYSTEM = "urn:medsvc:identifier:cn-resident-id"
ENGLISH = {"Accept-Language": "en"}  # the pages' words are checked in English


def count(backend: Backend, table: Any) -> int:
    with backend.database.session(write=False) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def patients_with(client: httpx.Client, number: str) -> list[dict[str, Any]]:
    found = client.get("/Patient", params={"identifier": f"{SYSTEM}|{number}"})
    return [entry["resource"] for entry in found.json().get("entry", [])]


def registered(client: httpx.Client, name: str, number: str, mobile: str) -> str:
    """A Patient as a hospital registered it: name, resident number, mobile number."""
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": SYSTEM, "value": number}],
        "name": [{"family": name[0], "given": [name[1:]]}],
        "telecom": [{"system": "phone", "value": mobile}],
    }
    made = client.post("/Patient", json=resource, headers=FHIR_JSON)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_a_citizen_signs_up_with_a_code_from_the_gateway_and_is_signed_in(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    done = sign_up(phone, clean, gatewayed)
    assert done.status_code == 302, done.text
    back = phone.get(done.headers["location"])
    assert (back.status_code, back.headers["location"]) == (303, "/app/")
    home = phone.get("/app/")
    assert home.status_code == 200
    assert 'action="/app/signout"' in home.text
    [patient] = patients_with(client, MEI)
    assert patient["name"] == [{"use": "official", "text": "王美"}]
    assert patient["birthDate"] == "1990-03-07"
    assert patient["gender"] == "male"
    assert patient["telecom"] == [{"system": "sms", "value": "+8613800138000", "use": "mobile"}]
    with clean.database.session(write=False) as session:
        account = session.execute(select(Account)).one()
    assert account.username == "+8613800138000"
    assert account.fhir_user == f"Patient/{patient['id']}"


def test_the_gateway_gets_the_number_and_the_code_and_nothing_else(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    page = ask_for_code(phone, start_sign_up(phone), details())
    assert page.status_code == 200, page.text
    assert "+86 ****8000" in page.text
    [message] = codes_sent(clean, gatewayed)
    assert message["patient"] is None
    assert message["to"] == [{"system": "sms", "value": "+8613800138000"}]
    assert message["topic"] == "sign-up"
    assert MEI not in json.dumps(message, ensure_ascii=False)
    assert "王美" not in message["text"]
    with clean.database.session(write=False) as session:
        row = session.execute(select(NoticeWebhook)).one()
    assert (row.to_phone, row.text) == (None, "")  # erased once sent


def test_nothing_on_the_account_side_holds_the_number_or_the_code(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    page = ask_for_code(phone, start_sign_up(phone), details())
    [message] = codes_sent(clean, gatewayed)
    code = code_in(message)
    assert confirm(phone, page, code).status_code == 302
    tables = ["account", "account_identity", "phone_code", "code_quota", "notice_webhook"]
    with clean.database.session(write=False) as session:
        dump = "".join(
            repr(row) for table in tables for row in session.execute(text(f"SELECT * FROM {table}"))
        )
    assert MEI not in dump
    assert MEI[-4:] + "'" not in dump
    assert code not in dump
    assert count(clean, AccountIdentity) == 1


def test_a_hospital_s_patient_is_linked_when_its_record_holds_the_verified_number(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    patient_id = registered(client, "王美", MEI, "138 0013 8000")
    assert sign_up(phone, clean, gatewayed).status_code == 302
    assert [p["id"] for p in patients_with(client, MEI)] == [patient_id]
    with clean.database.session(write=False) as session:
        linked = session.execute(select(AccountIdentity)).one()
    assert (linked.patient_id, linked.assurance) == (patient_id, "format-checked")


def test_a_hospital_s_patient_with_other_details_is_not_taken_over(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    """Someone who knows a citizen's identity number, with their own phone, gets nothing."""
    registered(client, "王美", MEI, "13900139000")
    done = sign_up(phone, clean, gatewayed)
    assert done.status_code == 409
    assert "service desk" in done.text
    assert count(clean, Account) == 0
    assert count(clean, AccountIdentity) == 0
    assert len(patients_with(client, MEI)) == 1


def test_another_name_on_the_hospital_s_record_is_not_linked(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    registered(client, "王丽", MEI, "13800138000")
    assert sign_up(phone, clean, gatewayed).status_code == 409
    assert count(clean, Account) == 0


def test_a_provider_s_word_links_a_record_without_the_number(
    phone: httpx.Client, clean: Backend, kept: Kept, sms_gateway: Receiver, client: httpx.Client
) -> None:
    vouching = gatewayed_with(clean, kept, sms_gateway, "tests.identity.providers:Vouching")
    patient_id = registered(client, "王美", MEI, "13900139000")
    with httpx.Client(base_url=vouching.server.url, timeout=30, headers=ENGLISH) as browser:
        assert sign_up(browser, clean, vouching).status_code == 302
    with clean.database.session(write=False) as session:
        linked = session.execute(select(AccountIdentity)).one()
    assert (linked.patient_id, linked.assurance, linked.provider) == (
        patient_id,
        "document-verified",
        "test-vouching",
    )


def test_a_provider_that_does_not_match_name_and_document_ends_the_sign_up(
    clean: Backend, kept: Kept, sms_gateway: Receiver
) -> None:
    refusing = gatewayed_with(clean, kept, sms_gateway, "tests.identity.providers:Refusing")
    with httpx.Client(base_url=refusing.server.url, timeout=30, headers=ENGLISH) as browser:
        done = sign_up(browser, clean, refusing)
    assert done.status_code == 409
    assert "do not match" in done.text
    assert count(clean, Account) == 0


def test_one_identity_has_one_account(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    assert sign_up(phone, clean, gatewayed).status_code == 302
    phone.cookies.clear()
    again = sign_up(phone, clean, gatewayed, mobile="13900139000")
    assert again.status_code == 409
    assert "already has an account" in again.text
    assert count(clean, Account) == 1


def test_one_number_has_one_account(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    assert sign_up(phone, clean, gatewayed).status_code == 302
    phone.cookies.clear()
    again = sign_up(phone, clean, gatewayed, name="李磊", number=LEI)
    assert again.status_code == 409
    assert "already belongs to an account" in again.text
    assert count(clean, Account) == 1


def test_two_sign_ups_of_one_identity_at_once_make_one_account(
    clean: Backend, gatewayed: Gatewayed, client: httpx.Client
) -> None:
    """Two people (two browsers, two numbers) claim one identity at the same moment."""
    browsers = [
        httpx.Client(base_url=gatewayed.server.url, timeout=30, headers=ENGLISH) for _ in range(2)
    ]
    pages = [
        ask_for_code(b, start_sign_up(b), details(mobile=m))
        for b, m in zip(browsers, ("13800138000", "13900139000"), strict=True)
    ]
    sent = {m["to"][0]["value"]: code_in(m) for m in codes_sent(clean, gatewayed)}
    codes = [sent["+8613800138000"], sent["+8613900139000"]]
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def finish(index: int) -> None:
        barrier.wait()
        answers.append(confirm(browsers[index], pages[index], codes[index]).status_code)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for browser in browsers:
        browser.close()
    assert sorted(answers) == [302, 409]
    assert count(clean, Account) == 1
    assert count(clean, AccountIdentity) == 1
    assert len(patients_with(client, MEI)) == 1  # the loser's Patient rolled back with it


def test_a_wrong_code_is_refused_and_five_end_it(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    page = ask_for_code(phone, start_sign_up(phone), details())
    code = code_in(codes_sent(clean, gatewayed)[0])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = confirm(phone, page, wrong)
        assert answer.status_code == 400
        assert "wrong or has expired" in answer.text
    assert confirm(phone, page, code).status_code == 400
    assert count(clean, Account) == 0


@pytest.mark.parametrize(
    "changed",
    [{"name": "王丽"}, {"number": LEI}, {"phone": "13900139000"}, {"kind": "passport"}],
)
def test_a_code_does_not_serve_details_changed_after_it_was_sent(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, changed: dict[str, str]
) -> None:
    page = ask_for_code(phone, start_sign_up(phone), details())
    code = code_in(codes_sent(clean, gatewayed)[0])
    fields = {**form_fields(page.text), **changed, "country": "CHN"}
    typed = {"code": code, "password": PASSWORD}
    answer = phone.post(
        "/auth/signup/confirm", data={**fields, **typed}, headers={"Origin": origin(phone)}
    )
    assert answer.status_code == 400
    assert count(clean, Account) == 0


def test_a_short_password_keeps_the_code_for_another_try(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    page = ask_for_code(phone, start_sign_up(phone), details())
    code = code_in(codes_sent(clean, gatewayed)[0])
    short = confirm(phone, page, code, password="short")
    assert short.status_code == 400
    assert "12 to 256" in short.text
    assert confirm(phone, page, code).status_code == 302


@pytest.mark.parametrize(
    ("typed", "fields"),
    [
        (details(number="110105199003071238"), {"number"}),
        (details(mobile="12800138000"), {"phone"}),
        (details(name=""), {"name"}),
        (details(name="王" * 65), {"name"}),
        (details(name="", number="1", mobile="2"), {"name", "number", "phone"}),
    ],
)
def test_bad_details_are_marked_and_no_code_is_sent(
    phone: httpx.Client,
    clean: Backend,
    gatewayed: Gatewayed,
    typed: dict[str, str],
    fields: set[str],
) -> None:
    answer = ask_for_code(phone, start_sign_up(phone), typed)
    assert answer.status_code == 400
    marked = {f for f in ("name", "number", "phone") if f'id="{f}-problem"' in answer.text}
    assert marked == fields
    assert count(clean, PhoneCode) == 0
    assert count(clean, NoticeWebhook) == 0


@pytest.mark.parametrize("field", ["name", "number", "phone", "kind", "country"])
def test_a_nul_in_any_field_is_refused_before_it_is_read(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, field: str
) -> None:
    typed = {**details(), field: "13800138000\u0000"}
    answer = ask_for_code(phone, start_sign_up(phone), typed)
    assert answer.status_code == 400
    assert "could not be read" in answer.text
    assert count(clean, PhoneCode) == 0


def test_the_sixth_code_for_one_number_in_an_hour_waits(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    fields = start_sign_up(phone)
    for _ in range(5):
        assert ask_for_code(phone, fields, details()).status_code == 200
    refused = ask_for_code(phone, fields, details())
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert count(clean, PhoneCode) == 5
    with clean.database.session(write=False) as session:
        counted = dict(session.execute(select(CodeQuota.key, CodeQuota.count)).all())
    assert sorted(counted.values()) == [5, 5, 5]


def test_one_identity_s_codes_are_bounded_across_numbers(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    fields = start_sign_up(phone)
    for mobile in ("13800138001", "13800138002", "13800138003", "13800138004", "13800138005"):
        assert ask_for_code(phone, fields, details(mobile=mobile)).status_code == 200
    assert ask_for_code(phone, fields, details(mobile="13800138006")).status_code == 429


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1"},  # another port is another origin
        {"Referer": "https://evil.example/signup"},
    ],
)
def test_a_post_not_from_our_form_is_refused(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, headers: dict[str, str]
) -> None:
    fields = start_sign_up(phone)
    answer = phone.post("/auth/signup", data={**fields, **details()}, headers=headers)
    assert answer.status_code == 403
    assert count(clean, PhoneCode) == 0


def test_a_post_without_the_browser_s_secret_is_refused(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    fields = start_sign_up(phone)
    phone.cookies.clear()
    answer = ask_for_code(phone, fields, details())
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"client_id": "unknown", "response_type": "code"},
        {"client_id": "x\u0000"},
    ],
)
def test_sign_up_needs_a_valid_authorization_request(
    phone: httpx.Client, gatewayed: Gatewayed, params: dict[str, str]
) -> None:
    answer = phone.get("/auth/signup", params=params)
    assert answer.status_code == 400


def test_without_a_gateway_sign_up_says_it_is_unavailable(
    smart_server: LiveServer, clean: Backend
) -> None:
    with httpx.Client(base_url=smart_server.url, timeout=30) as browser:
        start = browser.get("/app/signin")
        location = start.headers["location"].replace("/auth/authorize", "/auth/signup")
        answer = browser.get(location)
    assert answer.status_code == 503
    assert count(clean, PhoneCode) == 0


@pytest.mark.parametrize("typed", ["13800138000", "138 0013 8000", "+86 138-0013-8000"])
def test_the_new_account_signs_in_with_its_number_however_typed(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, typed: str
) -> None:
    assert sign_up(phone, clean, gatewayed).status_code == 302
    phone.cookies.clear()
    start = phone.get("/app/signin")
    form = phone.get(start.headers["location"])
    posted = phone.post(
        "/auth/authorize",
        data={**form_fields(form.text), "username": typed, "password": PASSWORD, "otp": ""},
        headers={"Origin": origin(phone)},
    )
    assert posted.status_code == 302, posted.text
    assert phone.get(posted.headers["location"]).headers["location"] == "/app/"


def test_a_provider_that_cannot_answer_leaves_the_code_for_a_later_try(
    clean: Backend, kept: Kept, sms_gateway: Receiver
) -> None:
    failing = gatewayed_with(clean, kept, sms_gateway, "tests.identity.providers:Failing")
    with httpx.Client(base_url=failing.server.url, timeout=30, headers=ENGLISH) as browser:
        done = sign_up(browser, clean, failing)
    assert done.status_code == 503
    assert "could not be checked" in done.text
    assert 'name="code_id"' in done.text  # the code form again, to send again
    with clean.database.session(write=False) as session:
        code = session.execute(select(PhoneCode)).one()
    assert (code.spent_at, code.tries_left) == (None, 4)
    assert count(clean, Account) == 0


def test_a_code_the_gateway_does_not_take_is_given_up_after_its_minutes(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed
) -> None:
    ask_for_code(phone, start_sign_up(phone), details())
    gatewayed.gateway.answer = 503
    try:
        assert codes_sent(clean, gatewayed) == []
        later = clock.now() + timedelta(minutes=5)
        jobs.run_once(clean.database, jobs.notices_job(gatewayed.settings), later)
    finally:
        gatewayed.gateway.answer = 200
    with clean.database.session(write=False) as session:
        row = session.execute(select(NoticeWebhook)).one()
    assert row.given_up_at is not None
    assert (row.to_phone, row.text) == (None, "")
    assert len(gatewayed.gateway.arrived) == 1  # tried once; too late for a second try


def test_an_operator_sees_the_identity_proved_but_never_the_document(
    phone: httpx.Client, clean: Backend, gatewayed: Gatewayed, tmp_path: Path
) -> None:
    assert sign_up(phone, clean, gatewayed).status_code == 302
    env = {"MEDSVC_DATABASE_URL": clean.url, "MEDSVC_KEYS_DIR": KEYS.name}
    shown = medsvc("users", "show", "138 0013 8000", cwd=tmp_path, env=env)
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert found["username"] == "+8613800138000"
    assert found["identity"]["document"] == "resident"
    assert found["identity"]["assurance"] == "format-checked"
    assert found["identity"]["provider"] == "format-only"
    assert MEI not in shown.stdout
    assert MEI[-4:] not in shown.stdout
