"""The help with a citizen's account in a real browser on a phone-sized screen, in both
languages: reached before signing in, from the app's start page and from its sign-in page;
checked with axe-core (no serious or critical WCAG 2.1 AA violation) and pictured on
request."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveServer
from tests.web.test_browser import accessible, chromium_browser, phone

__all__ = ["chromium_browser"]  # the fixture

# The pages' words in Chinese, as src/medsvc/web/locale/zh_Hans_CN/LC_MESSAGES/messages.po
# translates them; the tests name each by its English.
CHINESE = {
    "Help with your account": "账号帮助",
    "Creating an account": "注册账号",
    "Signing in": "登录方式",
    "A forgotten password": "忘记密码",
    "About the codes": "关于验证码",
    "Acting for your family": "为家人代办",
    "What we keep about you": "我们保存哪些个人信息",
    "Back to the start": "返回首页",
    "Sign in": "登录",
}
SECTIONS = [
    "Creating an account",
    "Signing in",
    "A forgotten password",
    "About the codes",
    "Acting for your family",
    "What we keep about you",
]


def said(language: str, english: str) -> str:
    return CHINESE[english] if language == "zh" else english


def on_help(page: Page, language: str) -> None:
    expect(page).to_have_url(re.compile("/app/help$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        said(language, "Help with your account")
    )
    expect(page.get_by_role("heading", level=2)).to_have_text(
        [said(language, section) for section in SECTIONS]
    )


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_visitor_finds_help_with_their_account_before_signing_in(
    chromium_browser: Browser, smart_server: LiveServer, language: str
) -> None:
    page = phone(chromium_browser, language)
    page.goto(f"{smart_server.url}/app/")
    page.get_by_role("link", name=said(language, "Help with your account")).click()
    on_help(page, language)
    expect(page).to_have_title(
        re.compile("^" + re.escape(said(language, "Help with your account")))
    )
    # No city sign-in service is configured here: only two ways of signing in are listed.
    expect(page.locator("#sign-in + ul > li")).to_have_count(2)
    accessible(page, f"help-{language}")
    page.get_by_role("link", name=said(language, "Back to the start")).click()
    page.wait_for_url("**/app/")
    # The sign-in page links to the same help.
    page.get_by_role("link", name=said(language, "Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_role("link", name=said(language, "Help with your account")).click()
    on_help(page, language)
    page.context.close()
