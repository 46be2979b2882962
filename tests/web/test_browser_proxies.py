"""Family proxies in a real browser on a phone, in both languages: a parent signs in, picks
their child on the server's patient picker, sees whose record the app shows and switches back
without the password; a person sees who may act for their record, what they did for them,
and stops it. Each page checked with axe-core and pictured on request. (Acting for another
adult with a code sent to their phone needs the SMS gateway: its pages are tested over
HTTP.)"""

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from medsvc import clock
from medsvc.access import proxies
from medsvc.assembly import fhir_server
from medsvc.audit import trail
from tests.conftest import Backend, LiveServer
from tests.security.conftest import PASSWORD
from tests.web.conftest import People
from tests.web.phone import serious_violations
from tests.web.test_acting_for import child_of_mei, pick
from tests.web.test_acting_for import sign_in_to_picker as sign_in_to_picker_over_http
from tests.web.test_browser import accessible, chromium_browser, phone, sign_in

__all__ = ["chromium_browser"]  # the fixture

CHILD = "李小梅"  # child_of_mei's child, six years old
MEI = "李梅"


def words(language: str, chinese: str, english: str) -> str:
    return chinese if language == "zh" else english


def sign_in_to_picker(page: Page, username: str) -> None:
    """The app's sign-in up to the password; a person who acts for others then reaches the
    server's patient picker rather than the app."""
    page.get_by_role("link", name=re.compile("^(登录|Sign in)$")).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_label(re.compile("^(手机号或用户名|Mobile number or username)$")).fill(username)
    page.get_by_label(re.compile("^(密码|Password)$")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("^(登录|Sign in)$")).click()
    page.wait_for_url(re.compile(r"/auth/choose\?"))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_parent_picks_their_child_sees_whose_record_it_is_and_switches_back(
    chromium_browser: Browser,
    smart_server: LiveServer,
    client: httpx.Client,
    clean: Backend,
    people: People,
    language: str,
) -> None:
    child_of_mei(client, clean, people)
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in_to_picker(page, "mei")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "您要为谁办理？", "Whom are you acting for?")
    )
    myself = page.get_by_role("radio", name=words(language, "本人", "Myself"))
    child = page.get_by_role("radio", name=CHILD)
    expect(myself).to_be_checked()  # acting for oneself unless the person picks another
    expect(child).not_to_be_checked()
    expect(page.get_by_role("radio")).to_have_count(2)
    accessible(page, f"choose-{language}")
    child.check()
    page.get_by_role("button", name=words(language, "继续", "Continue")).click()
    page.wait_for_url("**/app/")
    banner = page.get_by_role("status")
    expect(banner).to_contain_text(CHILD)
    expect(banner).to_contain_text(words(language, "您正在代", "You are acting for"))
    switch = banner.get_by_role(
        "link", name=words(language, "切换就诊人", "Switch whom you act for")
    )
    expect(switch).to_have_attribute("href", "/app/switch")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "待就诊的预约", "Your coming appointments")
    )
    accessible(page, f"acting-for-{language}")
    switch.click()  # the picker again at once: no password asked
    page.wait_for_url(re.compile(r"/auth/choose\?"))
    expect(page.get_by_role("radio", name=CHILD)).to_be_visible()
    page.get_by_role("radio", name=words(language, "本人", "Myself")).check()
    page.get_by_role("button", name=words(language, "继续", "Continue")).click()
    page.wait_for_url("**/app/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "待就诊的预约", "Your coming appointments")
    )
    expect(page.get_by_role("status")).to_have_count(0)  # acting for herself again
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_person_sees_who_may_act_for_their_record_what_they_did_and_stops_it(
    chromium_browser: Browser,
    smart_server: LiveServer,
    clean: Backend,
    people: People,
    browser: httpx.Client,
    language: str,
) -> None:
    """Lei consented, at a hospital, that Mei acts for him; he acts for no one himself. Mei
    has opened his appointments in the app."""
    proposal = proxies.NewProxy(people.other, people.citizen, "SPS", proxies.CONSENTED, "hospital")
    with clean.database.session(write=True) as session:
        proxy = proxies.add(
            session, fhir_server(clean.settings), proposal, proxies.ChildAge(14), clock.now()
        )
    pick(browser, sign_in_to_picker_over_http(browser), proxy.id)
    assert browser.get("/app/appointments").status_code == 200
    trail.flush_all()
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    sign_in(page, "lei")  # straight to the app: no picker
    expect(page.get_by_role("status")).to_have_count(0)  # no "acting for" banner either
    page.get_by_role("link", name=words(language, "通知", "Notices"), exact=True).click()
    page.get_by_role(
        "link", name=words(language, "谁可以代办此病历", "Who can act for this record")
    ).click()
    page.wait_for_url("**/app/proxies")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        words(language, "谁可以代办此病历", "Who can act for this record")
    )
    cards = page.locator(".card")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text(MEI)
    expect(cards).to_contain_text(words(language, "家属或照护人", "Family member or carer"))
    expect(page.get_by_role("heading", level=2)).to_have_text(
        words(language, "他们为您办理过的事项", "What they did for you")
    )
    expect(page.locator(".activity")).to_contain_text(
        words(language, "李梅: 搜索 · 预约", "李梅: Searched · Appointments")
    )
    accessible(page, f"proxies-{language}")
    stop = words(language, "停止 李梅 代办此病历", "Stop 李梅 acting for this record")
    cards.get_by_role("button", name=stop).click()
    page.wait_for_url("**/app/proxies?ended=1")
    expect(page.get_by_role("status")).to_contain_text(
        words(language, "已停止", "Done: that person can no longer act for this record")
    )
    expect(page.locator(".card")).to_have_count(0)
    expect(page.locator(".activity")).to_contain_text(MEI)  # what she did stays listed
    expect(page.locator("main")).to_contain_text(
        words(language, "目前没有其他人可以代办此病历。", "Nobody else can act for this record.")
    )
    page.wait_for_load_state("load")
    assert serious_violations(page) == [], f"proxies-ended-{language}"  # checked, not pictured
    page.context.close()
