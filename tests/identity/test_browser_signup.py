"""Real-name sign-up in a real browser on a phone-sized screen, in both languages: from the
app's sign-in to an account signed in, with the code read from the local SMS gateway; the
form's problems said in words beside their fields; and the page that ends a second sign-up of
one identity. Every page is checked with axe-core (no serious or critical WCAG 2.1 AA
violation) and pictured on request."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Backend
from tests.identity.conftest import MEI, PASSWORD, Gatewayed, code_in, codes_sent
from tests.web.test_browser import accessible, chromium_browser, phone

__all__ = ["chromium_browser"]  # the fixture

# The pages' words in Chinese, as src/medsvc/web/locale/zh_Hans_CN/LC_MESSAGES/messages.po
# translates them; the tests name each by its English.
CHINESE = {
    "Sign in": "登录",
    "Create an account": "注册账号",
    "Your name, as on your identity document": "姓名（与证件上的一致）",
    "Resident identity card": "居民身份证",
    "Document number": "证件号码",
    "Mobile number": "手机号",
    "Send me a code": "获取验证码",
    "Enter your code": "输入验证码",
    "Code": "验证码",
    "Choose a password (at least 12 characters)": "设置密码（至少 12 个字符）",
    "Create my account": "完成注册",
    "Your coming appointments": "待就诊的预约",
    "Sign out": "退出登录",
    "Please check the fields marked below.": "请核对下方标出的内容。",
    "This number cannot be right.": "证件号码有误。",
    "Please type a mobile number": "请填写手机号",
    "No account was created": "未能注册账号",
    "This identity document already has an account.": "该证件已注册账号。",
    "Back to the start": "返回首页",
}
NAME = "王美"  # a name is a name, whatever the page's language
MOBILE = "13800138000"
# MEI with another last digit: 18 characters, but its check character is wrong.
WRONG_NUMBER = MEI[:-1] + ("0" if MEI[-1] != "0" else "1")
BAD_MOBILE = "1380013800"  # 10 digits


def said(language: str, english: str) -> str:
    return CHINESE[english] if language == "zh" else english


def to_sign_up(page: Page, gatewayed: Gatewayed, language: str) -> None:
    """From the app's start page through its sign-in to the sign-up form."""
    page.goto(f"{gatewayed.server.url}/app/")
    page.get_by_role("link", name=said(language, "Sign in"), exact=True).click()
    expect(page).to_have_url(re.compile("/auth/authorize"))
    page.get_by_role("link", name=said(language, "Create an account"), exact=True).click()
    expect(page).to_have_url(re.compile("/auth/signup"))
    expect(page.get_by_role("heading", level=1)).to_have_text(said(language, "Create an account"))


def fill_details(page: Page, language: str, number: str, mobile: str) -> None:
    page.get_by_label(said(language, "Your name, as on your identity document")).fill(NAME)
    expect(page.get_by_role("radio", name=said(language, "Resident identity card"))).to_be_checked()
    page.get_by_label(said(language, "Document number"), exact=True).fill(number)
    page.get_by_label(said(language, "Mobile number"), exact=True).fill(mobile)


def ask_for_code(page: Page, language: str) -> None:
    page.get_by_role("button", name=said(language, "Send me a code")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(said(language, "Enter your code"))


def code_sent_to(backend: Backend, gatewayed: Gatewayed, mobile: str) -> str:
    """The code in the last text message the gateway got for the mainland number."""
    messages = codes_sent(backend, gatewayed)
    to_it = [m for m in messages if m["to"] == [{"system": "sms", "value": f"+86{mobile}"}]]
    assert to_it, messages
    return code_in(to_it[-1])


def enter_code(page: Page, language: str, code: str) -> None:
    page.get_by_label(said(language, "Code"), exact=True).fill(code)
    page.get_by_label(said(language, "Choose a password (at least 12 characters)")).fill(PASSWORD)
    page.get_by_role("button", name=said(language, "Create my account")).click()


def signed_up(
    page: Page, backend: Backend, gatewayed: Gatewayed, language: str, mobile: str = MOBILE
) -> None:
    """The whole sign-up, without checks or pictures; ends on the app's home page."""
    to_sign_up(page, gatewayed, language)
    fill_details(page, language, MEI, mobile)
    ask_for_code(page, language)
    enter_code(page, language, code_sent_to(backend, gatewayed, mobile))
    page.wait_for_url("**/app/")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_citizen_signs_up_with_the_code_texted_to_them_and_is_signed_in(
    chromium_browser: Browser, clean: Backend, gatewayed: Gatewayed, language: str
) -> None:
    page = phone(chromium_browser, language)
    to_sign_up(page, gatewayed, language)
    accessible(page, f"signup-details-{language}")
    fill_details(page, language, MEI, MOBILE)
    ask_for_code(page, language)
    expect(page.get_by_role("main")).to_contain_text("+86 ****8000")
    expect(page.get_by_role("main")).not_to_contain_text(MOBILE)
    accessible(page, f"signup-code-{language}")
    enter_code(page, language, code_sent_to(clean, gatewayed, MOBILE))
    page.wait_for_url("**/app/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        said(language, "Your coming appointments")
    )
    expect(page.get_by_role("button", name=said(language, "Sign out"))).to_be_visible()
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_wrong_number_and_a_bad_mobile_are_said_beside_their_fields_and_corrected_by_keyboard(
    chromium_browser: Browser, clean: Backend, gatewayed: Gatewayed, language: str
) -> None:
    page = phone(chromium_browser, language)
    to_sign_up(page, gatewayed, language)
    fill_details(page, language, WRONG_NUMBER, BAD_MOBILE)
    page.get_by_role("button", name=said(language, "Send me a code")).click()
    expect(page.get_by_role("alert")).to_have_text(
        said(language, "Please check the fields marked below.")
    )
    name = page.get_by_label(said(language, "Your name, as on your identity document"))
    number = page.get_by_label(said(language, "Document number"), exact=True)
    mobile = page.get_by_label(said(language, "Mobile number"), exact=True)
    # What was typed is kept; only the wrong fields are marked, each described by its problem.
    expect(name).to_have_value(NAME)
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(number).to_have_value(WRONG_NUMBER)
    expect(mobile).to_have_value(BAD_MOBILE)
    for field, problem in [
        (number, said(language, "This number cannot be right.")),
        (mobile, said(language, "Please type a mobile number")),
    ]:
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(re.compile("^" + re.escape(problem)))
    expect(page.locator("#number-problem")).to_be_visible()
    expect(page.locator("#phone-problem")).to_be_visible()
    expect(page.locator(".error")).to_have_count(3)  # the summary and the two fields' problems
    accessible(page, f"signup-problems-{language}")
    # Corrected from the keyboard alone: the number's field, Tab past the passport's country
    # to the mobile's, and Enter sends the form.
    number.focus()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(MEI)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(mobile).to_be_focused()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(MOBILE)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(said(language, "Enter your code"))
    expect(page.get_by_role("main")).to_contain_text("+86 ****8000")
    page.context.close()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_second_sign_up_of_one_identity_ends_without_an_account(
    chromium_browser: Browser, clean: Backend, gatewayed: Gatewayed, language: str
) -> None:
    first = phone(chromium_browser, language)
    signed_up(first, clean, gatewayed, language)
    first.context.close()
    page = phone(chromium_browser, language)  # another browser, another mobile number
    to_sign_up(page, gatewayed, language)
    fill_details(page, language, MEI, "13900139000")
    ask_for_code(page, language)
    enter_code(page, language, code_sent_to(clean, gatewayed, "13900139000"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        said(language, "No account was created")
    )
    expect(page.get_by_role("alert")).to_contain_text(
        said(language, "This identity document already has an account.")
    )
    expect(page.get_by_role("button", name=said(language, "Sign out"))).to_have_count(0)
    accessible(page, f"signup-ended-{language}")
    page.get_by_role("link", name=said(language, "Back to the start")).click()
    page.wait_for_url("**/app/")
    expect(page.get_by_role("link", name=said(language, "Sign in"), exact=True)).to_be_visible()
    page.context.close()
