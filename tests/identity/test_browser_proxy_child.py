"""A parent adds their child in a real browser on a phone, in both languages: from the page of
who can act for their record to the child's form, a number mistyped and said so, then the
child added once the city's verification provider (here a test one that vouches) confirms it.
Each page checked with axe-core and pictured on request."""

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from medsvc.access import proxies
from tests.conftest import Backend, Kept
from tests.identity.conftest import CHILD, PASSWORD, gatewayed_with, sign_up
from tests.subscriptions.receiver import Receiver
from tests.web.test_browser import accessible, chromium_browser, phone

__all__ = ["chromium_browser"]  # the fixture

CHINESE = {
    "Sign in": "登录",
    "Mobile number or username": "手机号或用户名",
    "Password": "密码",
    "Who can act for this record": "谁可以代办此病历",
    "Add your child": "添加您的孩子",
    "Child's name, as on their identity document": "孩子的姓名（与身份证件一致）",
    "Child's resident identity number": "孩子的居民身份证号码",
    "You are the child's": "您是孩子的",
    "father": "父亲",
    "Add my child": "添加我的孩子",
    "This is not a resident identity number": "这不是有效的居民身份证号码",
    "You can now act for them": "您现在可以为对方办理了",
}


def said(language: str, english: str) -> str:
    return CHINESE[english] if language == "zh" else english


def signed_in_parent(page: Page, url: str, language: str) -> None:
    page.goto(f"{url}/app/")
    page.get_by_role("link", name=said(language, "Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_label(said(language, "Mobile number or username")).fill("138 0013 8000")
    page.get_by_label(said(language, "Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=said(language, "Sign in"), exact=True).click()
    page.wait_for_url("**/app/")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_parent_adds_their_child(
    chromium_browser: Browser, clean: Backend, kept: Kept, sms_gateway: Receiver, language: str
) -> None:
    server = gatewayed_with(clean, kept, sms_gateway, "tests.identity.providers:Vouching")
    with httpx.Client(base_url=server.server.url, timeout=30) as signing_up:
        assert sign_up(signing_up, clean, server).status_code == 302
    page = phone(chromium_browser, language)
    signed_in_parent(page, server.server.url, language)
    page.goto(f"{server.server.url}/app/proxies")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        said(language, "Who can act for this record")
    )
    page.get_by_role("link", name=said(language, "Add your child")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(said(language, "Add your child"))
    accessible(page, f"proxy-child-{language}")
    name = page.get_by_label(said(language, "Child's name, as on their identity document"))
    number = page.get_by_label(said(language, "Child's resident identity number"))
    name.fill("王小明")
    number.fill(CHILD[:-1] + "5")  # one character wrong: the check character disagrees
    page.get_by_label(said(language, "You are the child's")).select_option(
        label=said(language, "father")
    )
    page.get_by_role("button", name=said(language, "Add my child")).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(said(language, "This is not a resident identity number"))
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_value("王小明")  # what was typed stays
    accessible(page, f"proxy-child-problem-{language}")
    number.fill(CHILD)
    page.get_by_role("button", name=said(language, "Add my child")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        said(language, "You can now act for them")
    )
    with clean.database.session(write=False) as session:
        [made] = proxies.listed(session, None, None)
    assert (made.kind, made.relationship) == ("guardian", "FTH")
    page.context.close()
