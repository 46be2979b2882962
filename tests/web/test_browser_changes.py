"""The app's second round of pages in a real browser on a phone, in both languages: moving and
cancelling an appointment, the list of past and coming ones, a measurement's trend, notices
and their settings, a doctor's week, and another citizen's result that is not found; each
checked with axe-core and pictured on request."""

import re
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import Browser, expect

from medsvc.security.context import platform_context
from tests.conftest import LiveServer
from tests.factories import FHIR_JSON, appointment
from tests.scheduling.clinic import Open, add_slots
from tests.web.clinic import book_visits, day_after_tomorrow, doctors_schedule
from tests.web.conftest import People
from tests.web.results import push_results
from tests.web.test_browser import accessible, chromium_browser, phone, sign_in
from tests.web.test_notices import communication

__all__ = ["chromium_browser"]  # the fixture


def words(language: str, chinese: str, english: str) -> str:
    return chinese if language == "zh" else english


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_moves_an_appointment_then_cancels_it(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    language: str,
) -> None:
    schedule_id = doctors_schedule(client, people.doctor)
    first = day_after_tomorrow()
    book_visits(client, acting_as, schedule_id, [people.citizen], first)
    add_slots(client, schedule_id, 3, first=first.replace(hour=14))
    past = appointment(
        f"Patient/{people.citizen}",
        f"Practitioner/{people.doctor}",
        "fulfilled",
        "2026-03-02T01:00:00Z",
    )
    assert client.post("/Appointment", json=past, headers=FHIR_JSON).status_code == 201
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    page.get_by_role(
        "link",
        name=words(language, "全部预约（包括以往的）", "All your appointments, past ones too"),
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "您的预约", "Your appointments")
    )
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card").last).to_contain_text(words(language, "已就诊", "Seen"))
    accessible(page, f"appointments-{language}")
    page.locator(".card .when a").first.click()
    page.get_by_role("link", name=words(language, "改约时间", "Change the time")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "选择新的时间", "Choose a new time")
    )
    accessible(page, f"reschedule-{language}")
    moved_to = page.locator(".times button").nth(1)
    moved_to.click()
    expect(page.locator(".card")).to_contain_text(words(language, "已预约", "Booked"))
    expect(page.locator(".card .when")).to_contain_text(re.compile("14:20|2:20"))
    page.get_by_role("button", name=words(language, "取消预约", "Cancel the appointment")).click()
    expect(page.locator(".card")).to_contain_text(words(language, "已取消", "Cancelled"))
    page.goto(f"{smart_server.url}/app/")
    expect(page.locator(".card")).to_have_count(0)  # nothing coming any more
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_follows_a_measurement_over_time(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    language: str,
) -> None:
    for month, value in zip(range(6, 11), (0.7, 0.9, 1.1, 1.4, 1.6), strict=True):
        when = f"2026-{month:02d}-03T08:00:00+08:00"
        push_results(client, acting_as, "m-1", f"R-{month}", creatinine=value, effective=when)
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    page.get_by_role("link", name=words(language, "报告", "Results")).click()
    page.locator(".card-link").first.click()
    page.get_by_role(
        "link", name=words(language, "Creatinine的趋势", "Trend of Creatinine")
    ).click()
    expect(page.get_by_role("img")).to_be_visible()
    expect(page.locator("svg .mark")).to_have_count(5)
    expect(page.locator("svg .mark.flagged")).to_have_count(2)
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text(words(language, "↑ 偏高", "↑ High"))
    accessible(page, f"trend-{language}")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_reads_notices_and_sets_their_language_and_mobile(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    language: str,
) -> None:
    notifier = acting_as(platform_context("notifier"))
    for resource in (
        communication(
            people.citizen,
            "result-released",
            "2026-11-02T01:00:00Z",
            "DiagnosticReport/r-1",
            "您有一份新的检查结果已出，请登录查看。",
        ),
        communication(
            people.citizen,
            "appointment-reminder",
            "2026-11-03T01:00:00Z",
            "Appointment/a-1",
            "提醒：您明天有预约。",
        ),
    ):
        assert notifier.post("/Communication", json=resource, headers=FHIR_JSON).status_code == 201
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    page.get_by_role("link", name=words(language, "通知", "Notices"), exact=True).click()
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card").first).to_contain_text(words(language, "提醒", "Reminder"))
    accessible(page, f"notices-{language}")
    page.get_by_role(
        "link",
        name=words(language, "通知的语言和手机号码", "Language and phone number for notices"),
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "通知：语言和手机号码", "Notices: language and phone")
    )
    accessible(page, f"settings-{language}")
    page.get_by_label(
        words(language, "接收短信的手机号码", "Mobile number for text messages")
    ).fill("12")
    page.get_by_role("button", name=words(language, "保存", "Save")).click()
    expect(page.get_by_role("alert")).to_contain_text(
        words(language, "这不是可以接收短信的手机号码", "This is not a mobile number")
    )
    other = "en" if language == "zh" else "zh"
    page.get_by_label("English" if other == "en" else "中文").check()
    page.get_by_label(re.compile("接收短信的手机号码|Mobile number for text messages")).fill(
        "13800138000"
    )
    page.get_by_role("button", name=re.compile("^(保存|Save)$")).click()
    expect(page.get_by_role("status")).to_have_text(words(other, "已保存。", "Saved."))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if other == "zh" else "en")
    record = client.get(f"/Patient/{people.citizen}").json()
    assert {"system": "sms", "value": "13800138000", "use": "mobile"} in record["telecom"]
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_doctor_sees_their_week(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    language: str,
) -> None:
    schedule_id = doctors_schedule(client, people.doctor)
    day = day_after_tomorrow()
    book_visits(client, acting_as, schedule_id, [people.citizen, people.other], day)
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "dr-wang")
    page.goto(f"{smart_server.url}/app/week?date={day.date().isoformat()}")
    expect(page.locator("h2")).to_have_count(7)
    expect(page.locator(".card")).to_have_count(2)
    accessible(page, f"doctor-week-{language}")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_another_citizens_result_is_not_found_and_signing_out_ends_access(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    language: str,
) -> None:
    push_results(client, acting_as, "m-1", "R-1")
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    page.get_by_role("link", name=words(language, "报告", "Results")).click()
    page.locator(".card-link").first.click()
    report_url = page.url
    page.get_by_role("button", name=words(language, "退出登录", "Sign out")).click()
    page.goto(report_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "您已退出登录", "You are signed out")
    )
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "lei")
    page.goto(report_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "未找到", "Not found")
    )
    expect(page.locator("main")).not_to_contain_text("Creatinine")
    accessible(page, f"not-found-{language}")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_pages_that_refuse_are_accessible(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    language: str,
) -> None:
    schedule_id = doctors_schedule(client, people.doctor)
    add_slots(client, schedule_id, 2, first=day_after_tomorrow())
    [started] = add_slots(client, schedule_id, 1, first=day_after_tomorrow() - timedelta(days=3))
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    page.goto(f"{smart_server.url}/app/find/doctors/{people.doctor}")
    page.evaluate("() => document.querySelector('.times input[name=csrf_token]').value = 'x'")
    page.locator(".times button").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "该表单已失效", "This form has expired")
    )
    accessible(page, f"refused-{language}")
    page.goto(f"{smart_server.url}/app/find/doctors/{people.doctor}")
    page.evaluate(
        "slot => document.querySelector('.times button[name=slot]').value = slot", f"Slot/{started}"
    )
    page.locator(".times button").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "无法完成此操作", "This cannot be done")
    )
    accessible(page, f"not-allowed-{language}")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_doctor_reads_a_patients_results_and_trend(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    language: str,
) -> None:
    schedule_id = doctors_schedule(client, people.doctor)
    book_visits(client, acting_as, schedule_id, [people.citizen], day_after_tomorrow())
    for month, value in ((9, 1.4), (10, 0.9)):
        when = f"2026-{month:02d}-03T08:00:00+08:00"
        push_results(client, acting_as, "m-1", f"R-{month}", creatinine=value, effective=when)
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "dr-wang")
    page.goto(f"{smart_server.url}/app/patients/{people.citizen}/results")
    expect(page.locator(".card")).to_have_count(2)
    accessible(page, f"patient-results-{language}")
    page.locator(".card-link").first.click()
    page.get_by_role(
        "link", name=words(language, "Creatinine的趋势", "Trend of Creatinine")
    ).click()
    expect(page.locator("svg .mark")).to_have_count(2)
    accessible(page, f"patient-trend-{language}")
    page.context.close()
