"""The app in a real browser on a phone-sized screen, in both languages: signing in through
the server's page, the home page, the language switch and signing out; every page checked
with axe-core (no serious or critical WCAG 2.1 AA violation) and pictured on request."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.scheduling.clinic import (
    Open,
    add_slots,
    booked,
    citizen_context,
    open_clinic,
    parameters,
)
from tests.security.conftest import PASSWORD
from tests.web.clinic import book_visits, day_after_tomorrow, doctors_schedule
from tests.web.conftest import People
from tests.web.phone import PHONE, chromium, picture, serious_violations
from tests.web.results import push_results

LANGUAGES = {"zh": "zh-CN", "en": "en-GB"}


@pytest.fixture
def chromium_browser() -> Iterator[Browser]:
    """One per test: Playwright's synchronous API holds an event loop on this thread while
    it runs, which other tests of the worker (asyncio.run) must not find."""
    with chromium() as browser:
        yield browser


def phone(browser: Browser, language: str) -> Page:
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=LANGUAGES[language],
        timezone_id="Asia/Shanghai",
    )
    return context.new_page()


def accessible(page: Page, name: str) -> None:
    """The page as shown passes axe-core. The caller first asserts what the new page shows, so
    that a click's navigation has begun; axe then waits for that page to finish loading."""
    page.wait_for_load_state("load")
    assert serious_violations(page) == [], name
    picture(page, name)


def sign_in(page: Page, username: str) -> None:
    page.get_by_role("link", name=re.compile("^(登录|Sign in)$")).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_label(re.compile("^(手机号或用户名|Mobile number or username)$")).fill(username)
    page.get_by_label(re.compile("^(密码|Password)$")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Sign in)$")).click()
    page.wait_for_url("**/app/")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_visitor_is_welcomed_in_their_language(
    chromium_browser: Browser, smart_server: LiveServer, people: People, language: str
) -> None:
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(
        "预约挂号" if language == "zh" else "Book hospital appointments"
    )
    accessible(page, f"welcome-{language}")
    page.context.close()


def test_a_citizen_signs_in_sees_their_booking_switches_language_and_signs_out(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    acting_as: Open,
) -> None:
    clinic = open_clinic(client, "北区医院")
    [slot] = add_slots(client, clinic.schedule, 1)
    me = acting_as(citizen_context(people.citizen))
    booked(me.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}")))
    page = phone(chromium_browser, "zh")
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    expect(page.get_by_role("heading", level=1)).to_have_text("待就诊的预约")
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator(".card")).to_contain_text("北区医院 outpatients")
    expect(page.locator(".card")).to_contain_text("协调世界时")  # the tests' zone is UTC
    expect(page.locator(".card")).to_contain_text("医生：Mikko Korhonen")
    accessible(page, "home-zh")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your coming appointments")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    accessible(page, "home-en")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto(f"{smart_server.url}/app/")
    expect(page.locator(".card")).to_have_count(0)
    page.context.close()


def test_the_keyboard_reaches_the_content_first(
    chromium_browser: Browser, smart_server: LiveServer, people: People
) -> None:
    page = phone(chromium_browser, "en")
    page.goto(f"{smart_server.url}/app/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_failed_sign_in_says_so_in_the_persons_language(
    chromium_browser: Browser, smart_server: LiveServer, people: People, language: str
) -> None:
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/callback?state=forged&code=stolen")
    expected = "登录未完成" if language == "zh" else "Sign-in did not finish"
    expect(page.get_by_role("heading", level=1)).to_have_text(expected)
    accessible(page, f"signin-failed-{language}")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_sign_in_page_is_the_apps_in_the_persons_language(
    chromium_browser: Browser, smart_server: LiveServer, people: People, language: str
) -> None:
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/signin")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "登录" if language == "zh" else "Sign in"
    )
    accessible(page, f"signin-{language}")
    page.get_by_label("手机号或用户名" if language == "zh" else "Mobile number or username").fill(
        "mei"
    )
    page.get_by_label("密码" if language == "zh" else "Password").fill("not the password")
    page.get_by_role("button", name="登录" if language == "zh" else "Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    accessible(page, f"signin-wrong-{language}")
    other = "English" if language == "zh" else "中文"
    page.get_by_role("link", name=other).click()  # the switch keeps the sign-in going
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_label("Mobile number or username" if language == "zh" else "手机号或用户名").fill(
        "mei"
    )
    page.get_by_label("Password" if language == "zh" else "密码").fill(PASSWORD)
    page.get_by_role("button", name="Sign in" if language == "zh" else "登录").click()
    page.wait_for_url("**/app/")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_reads_their_results_in_a_table_that_needs_no_colour(
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
    page.get_by_role("link", name="报告" if language == "zh" else "Results").click()
    expect(page.locator(".badge")).to_have_text("新" if language == "zh" else "New")
    accessible(page, f"results-{language}")
    page.locator(".card-link").first.click()
    high = page.get_by_role("row").filter(has_text="Creatinine")
    expect(high).to_contain_text("↑ 偏高" if language == "zh" else "↑ High")
    expect(high).to_contain_text("0.6 - 1.2")
    accessible(page, f"report-{language}")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_doctor_sees_their_day_and_marks_a_patient_arrived(
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
    page.goto(f"{smart_server.url}/app/day?date={day.date().isoformat()}")
    visits = page.locator(".card")
    expect(visits).to_have_count(2)
    expect(visits.first).to_contain_text("李梅")
    accessible(page, f"doctor-day-{language}")
    arrived = "标记为已到诊" if language == "zh" else "Mark arrived"
    visits.first.get_by_role("button", name=arrived).click()
    expect(page.locator(".card").first).to_contain_text("已到诊" if language == "zh" else "Arrived")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_finds_a_doctor_by_hospital_books_and_a_second_citizen_finds_it_taken(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    people: People,
    language: str,
) -> None:
    schedule_id = doctors_schedule(client, people.doctor)
    add_slots(client, schedule_id, 4, first=day_after_tomorrow())
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "mei")
    page.get_by_role(
        "link", name="预约挂号" if language == "zh" else "Find care", exact=True
    ).first.click()
    page.wait_for_url("**/app/find")
    accessible(page, f"find-{language}")
    page.get_by_role("link", name="北区医院").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("北区医院")
    accessible(page, f"hospital-{language}")
    page.get_by_role("link", name=re.compile("Mikko Wang")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mikko Wang")
    accessible(page, f"doctor-times-{language}")
    first_time = page.locator(".times button").first
    slot = page.locator(".times button[name=slot]").first.get_attribute("value")
    first_time.click()
    expect(page.get_by_role("timer")).to_contain_text(re.compile(r"\d+:\d\d"))  # the countdown
    accessible(page, f"hold-{language}")
    page.get_by_role(
        "button", name="确认预约" if language == "zh" else "Confirm the booking"
    ).click()
    expect(page.locator(".card")).to_contain_text("已预约" if language == "zh" else "Booked")
    accessible(page, f"booked-{language}")
    # A second citizen, on the same doctor's page before the first held it, tries that time.
    other = phone(chromium_browser, language)
    other.goto(f"{smart_server.url}/app/")
    sign_in(other, "lei")
    other.goto(f"{smart_server.url}/app/find/doctors/{people.doctor}")
    other.evaluate("slot => document.querySelector('.times button[name=slot]').value = slot", slot)
    other.locator(".times button").first.click()
    expect(other.get_by_role("heading", level=1)).to_have_text(
        "该时间已被约满" if language == "zh" else "That time was just taken"
    )
    accessible(other, f"taken-{language}")
    other.context.close()
    page.context.close()
