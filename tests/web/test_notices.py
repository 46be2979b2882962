"""A citizen's notices in the app, newest first with links to what they are about, and their
settings for notices: the language (which the app follows too) and the mobile number, kept in
their Patient record; what the settings form refuses."""

import httpx
import pytest

from medsvc.security.context import platform_context
from tests.conftest import Backend
from tests.factories import FHIR_JSON
from tests.scheduling.clinic import Open
from tests.web.conftest import People, signed_in
from tests.web.test_booking import EN, post

TOPICS = "urn:medsvc:notice-topic"


def communication(patient: str, topic: str, sent: str, about: str, text: str) -> dict[str, object]:
    return {
        "resourceType": "Communication",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient}"},
        "recipient": [{"reference": f"Patient/{patient}"}],
        "topic": {"coding": [{"system": TOPICS, "code": topic}]},
        "sent": sent,
        "about": [{"reference": about}],
        "payload": [{"contentString": text}],
    }


def test_a_citizen_reads_their_notices_newest_first(
    browser: httpx.Client, people: People, acting_as: Open
) -> None:
    notifier = acting_as(platform_context("notifier"))
    for resource in (
        communication(
            people.citizen,
            "result-released",
            "2026-11-02T01:00:00Z",
            "DiagnosticReport/r-1",
            "Result ready",
        ),
        communication(
            people.citizen,
            "appointment-reminder",
            "2026-11-03T01:00:00Z",
            "Appointment/a-1",
            "Tomorrow 09:00",
        ),
        communication(
            people.other,
            "appointment-changed",
            "2026-11-04T01:00:00Z",
            "Appointment/a-2",
            "Changed",
        ),
    ):
        assert notifier.post("/Communication", json=resource, headers=FHIR_JSON).status_code == 201
    signed_in(browser, "mei")
    page = browser.get("/app/notices", headers=EN)
    assert page.status_code == 200
    text = page.text
    assert text.index("Tomorrow 09:00") < text.index("Result ready")
    assert "Reminder" in text
    assert "A result is ready" in text
    assert 'href="/app/appointments/a-1"' in text
    assert 'href="/app/results/r-1"' in text
    assert "Changed" not in text  # another citizen's


def test_a_citizen_sets_language_and_mobile_for_notices(
    browser: httpx.Client, client: httpx.Client, people: People, clean: Backend
) -> None:
    signed_in(browser, "mei")
    form = browser.get("/app/settings", headers=EN)
    assert form.status_code == 200
    assert 'name="mobile"' in form.text
    saved = post(browser, clean, "/app/settings", language="en", mobile="138 0013 8000")
    assert saved.status_code == 303, saved.text
    assert browser.cookies.get("medsvc_lang") == "en"
    record = client.get(f"/Patient/{people.citizen}").json()
    assert record["communication"][0] == {
        "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}], "text": "en"},
        "preferred": True,
    }
    assert {"system": "sms", "value": "13800138000", "use": "mobile"} in record["telecom"]
    assert record["name"] == [{"family": "李", "given": ["梅"]}]  # the rest is kept
    shown = browser.get("/app/settings?saved=1").text  # no Accept-Language: the cookie decides
    assert "Saved." in shown
    assert 'value="13800138000"' in shown
    again = post(browser, clean, "/app/settings", language="zh", mobile="")
    assert again.status_code == 303
    record = client.get(f"/Patient/{people.citizen}").json()
    assert record["communication"][0]["language"]["coding"][0]["code"] == "zh-CN"
    assert len(record["communication"]) == 2  # English kept, no longer preferred
    assert "preferred" not in record["communication"][1]
    assert not [t for t in record.get("telecom", []) if t["system"] == "sms"]


@pytest.mark.parametrize(
    ("language", "mobile", "problem"),
    [
        ("fr", "", "Choose a language."),
        ("", "13800138000", "Choose a language."),
        ("en", "12345", "This is not a mobile number"),
        ("en", "+0123456789", "This is not a mobile number"),
        ("en", "1380013800a", "This is not a mobile number"),
        ("en", "<script>", "This is not a mobile number"),
    ],
)
def test_the_settings_form_refuses_what_it_cannot_use_and_changes_nothing(
    browser: httpx.Client,
    client: httpx.Client,
    people: People,
    clean: Backend,
    language: str,
    mobile: str,
    problem: str,
) -> None:
    before = client.get(f"/Patient/{people.citizen}").json()["meta"]["versionId"]
    signed_in(browser, "mei")
    refused = post(browser, clean, "/app/settings", language=language, mobile=mobile)
    assert refused.status_code == 422
    assert problem in refused.text
    assert "<script>" not in refused.text
    assert client.get(f"/Patient/{people.citizen}").json()["meta"]["versionId"] == before


def test_notices_and_settings_are_the_citizens_own(browser: httpx.Client, people: People) -> None:
    assert browser.get("/app/notices", headers=EN).status_code == 401
    assert browser.get("/app/settings", headers=EN).status_code == 401
    signed_in(browser, "dr-wang")
    assert browser.get("/app/notices", headers=EN).status_code == 404
    assert browser.get("/app/settings", headers=EN).status_code == 404
    forged = browser.post("/app/settings", data={"csrf_token": "x", "language": "en"})
    assert forged.status_code in (403, 404)
