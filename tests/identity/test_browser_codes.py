"""Signing in with a code texted to the account's mobile number, and a forgotten password
replaced by such a code, in a real browser on a phone-sized screen, in both languages: from
the app's start page to its home page signed in, with the code read from the local SMS
gateway. Every page is checked with axe-core (no serious or critical WCAG 2.1 AA violation)
and pictured on request."""

import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Backend
from tests.identity.conftest import Gatewayed, sign_up
from tests.identity.test_browser_signup import code_sent_to
from tests.web.test_browser import accessible, chromium_browser, phone

__all__ = ["chromium_browser"]  # the fixture

# The pages' words in Chinese, as src/medsvc/web/locale/zh_Hans_CN/LC_MESSAGES/messages.po
# translates them; the tests name each by its English.
CHINESE = {
    "Sign in": "登录",
    "Sign in with a code to my phone": "使用手机验证码登录",
    "Sign in with a code": "验证码登录",
    "Forgot your password?": "忘记密码？",
    "Choose a new password": "设置新密码",
    "Mobile number": "手机号",
    "Mobile number or username": "手机号或用户名",
    "Password": "密码",
    "Send me a code": "获取验证码",
    "Enter your code": "输入验证码",
    "Code": "验证码",
    "Choose a password (at least 12 characters)": "设置密码（至少 12 个字符）",
    "Choose a new password (at least 12 characters)": "设置新密码（至少 12 个字符）",
    "Save the password and sign in": "保存密码并登录",
    "Your coming appointments": "待就诊的预约",
    "Sign out": "退出登录",
}
MOBILE = "13800138000"  # the number sign_up gives the account
TYPED = "138 0013 8000"  # as a person may type it
NEW_PASSWORD = "another long enough password"


def said(language: str, english: str) -> str:
    return CHINESE[english] if language == "zh" else english


def signed_up(clean: Backend, gatewayed: Gatewayed) -> None:
    """A citizen's account with MOBILE, made over HTTP in another browser; the gateway's
    messages then forgotten, so that the next code read is the browser's."""
    english = {"Accept-Language": "en"}
    with httpx.Client(base_url=gatewayed.server.url, timeout=30, headers=english) as client:
        done = sign_up(client, clean, gatewayed)
        assert done.status_code in (302, 303), done.text
    gatewayed.gateway.received.clear()


def to_flow(page: Page, gatewayed: Gatewayed, language: str, link: str, heading: str) -> None:
    """From the app's start page through its sign-in to the number form of a code flow."""
    page.goto(f"{gatewayed.server.url}/app/")
    page.get_by_role("link", name=said(language, "Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_role("link", name=said(language, link), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(said(language, heading))


def ask_for_code(page: Page, language: str) -> None:
    page.get_by_label(said(language, "Mobile number"), exact=True).fill(TYPED)
    page.get_by_role("button", name=said(language, "Send me a code")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(said(language, "Enter your code"))
    # The number is shown masked, however it was typed.
    expect(page.get_by_role("main")).to_contain_text("+86 ****8000")
    expect(page.get_by_role("main")).not_to_contain_text(MOBILE)


def at_home_signed_in(page: Page, language: str) -> None:
    page.wait_for_url("**/app/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        said(language, "Your coming appointments")
    )
    expect(page.get_by_role("button", name=said(language, "Sign out"))).to_be_visible()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_signs_in_with_a_code_texted_to_their_number(
    chromium_browser: Browser, clean: Backend, gatewayed: Gatewayed, language: str
) -> None:
    signed_up(clean, gatewayed)
    page = phone(chromium_browser, language)  # a fresh browser: nobody signed in
    to_flow(page, gatewayed, language, "Sign in with a code to my phone", "Sign in with a code")
    accessible(page, f"signin-code-number-{language}")
    ask_for_code(page, language)
    accessible(page, f"signin-code-{language}")
    # No new password asked for here.
    expect(
        page.get_by_label(said(language, "Choose a password (at least 12 characters)"))
    ).to_have_count(0)
    page.get_by_label(said(language, "Code"), exact=True).fill(
        code_sent_to(clean, gatewayed, MOBILE)
    )
    page.get_by_role("button", name=said(language, "Sign in"), exact=True).click()
    at_home_signed_in(page, language)
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_who_forgot_their_password_chooses_a_new_one_with_a_code_and_signs_in(
    chromium_browser: Browser, clean: Backend, gatewayed: Gatewayed, language: str
) -> None:
    signed_up(clean, gatewayed)
    page = phone(chromium_browser, language)
    to_flow(page, gatewayed, language, "Forgot your password?", "Choose a new password")
    ask_for_code(page, language)
    page.get_by_label(said(language, "Code"), exact=True).fill(
        code_sent_to(clean, gatewayed, MOBILE)
    )
    page.get_by_label(said(language, "Choose a new password (at least 12 characters)")).fill(
        NEW_PASSWORD
    )
    accessible(page, f"new-password-code-{language}")
    page.get_by_role("button", name=said(language, "Save the password and sign in")).click()
    at_home_signed_in(page, language)
    # Signed out, the citizen signs in again with the new password and their number as typed.
    page.get_by_role("button", name=said(language, "Sign out")).click()
    page.get_by_role("link", name=said(language, "Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_label(said(language, "Mobile number or username")).fill(TYPED)
    page.get_by_label(said(language, "Password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name=said(language, "Sign in"), exact=True).click()
    at_home_signed_in(page, language)
    page.context.close()
