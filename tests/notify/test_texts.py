"""The notices' catalogues: every message of src/medsvc/notify in the template and translated in
both languages, with the same placeholders; and the texts as citizens get them, dates and times
in their language and the deployment's time zone, the zone named."""

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from medsvc.notify import texts
from medsvc.notify.language import DEFAULT, LOCALES

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
ZH, EN = "zh_Hans_CN", "en"
SHANGHAI, HELSINKI = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Helsinki")
WINTER = datetime(2026, 12, 9, 1, 20, tzinfo=UTC)  # a Wednesday
SUMMER = datetime(2026, 6, 30, 21, 5, tzinfo=UTC)  # a Tuesday; Wednesday in Helsinki


def extracted() -> set[str]:
    """The messages `make messages` extracts: the default mapping, every .py of notify."""
    found = extract_from_dir(str(ROOT / "src" / "medsvc" / "notify"))
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def catalogue(path: Path, locale: str | None = None) -> dict[str, str]:
    with path.open("rb") as po:
        messages = read_po(po, locale=locale)
    return {m.id: m.string for m in messages if m.id and not m.fuzzy}


def template() -> dict[str, str]:
    return catalogue(texts.CATALOGUES / "notices.pot")


def translated(locale: str) -> dict[str, str]:
    return catalogue(texts.CATALOGUES / locale / "LC_MESSAGES" / "notices.po", locale)


def test_the_template_holds_the_messages_of_the_code() -> None:
    wanted = extracted()
    assert {texts.REMINDER, texts.REMINDER_AT, texts.APPOINTMENT_CHANGED} <= wanted
    assert set(template()) == wanted


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    found = translated(locale)
    assert set(found) == set(template()), f"{locale} does not match notices.pot"
    for key, text in found.items():
        assert text, f"{locale}: '{key}' is untranslated"
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(key)), key


def test_the_chinese_catalogue_is_chinese() -> None:
    assert DEFAULT == ZH
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in translated(ZH).values())


def test_the_catalogues_compile_as_the_notices_load_them() -> None:
    assert texts.text(ZH, texts.APPOINTMENT_CHANGED) == "医院已更改您的一项预约，请登录查看。"
    assert texts.text(ZH, texts.RESULT_RELEASED) == "您有一份新的检查结果已出，请登录查看。"
    assert texts.text(EN, texts.RESULT_RELEASED) == (
        "A new result is ready for you. Sign in to read it."
    )
    assert texts.translations(EN) is texts.translations(EN)  # compiled once


def test_a_reminder_in_chinese_names_the_day_the_time_and_the_zone() -> None:
    assert texts.reminder(ZH, WINTER, SHANGHAI, "北区医院 门诊楼") == (
        "提醒：您在2026年12月9日星期三 09:20（中国标准时间）在北区医院 门诊楼有预约。"
    )
    assert texts.reminder(ZH, WINTER, SHANGHAI, None) == (
        "提醒：您在2026年12月9日星期三 09:20（中国标准时间）有预约。"
    )


def test_a_reminder_in_english_names_the_day_the_time_and_the_zone() -> None:
    assert texts.reminder(EN, WINTER, SHANGHAI, "North Hospital outpatients") == (
        "Reminder: you have an appointment on Wednesday, December 9, 2026 at 9:20\u202fAM "
        "(China Standard Time) at North Hospital outpatients."
    )


def test_a_reminder_is_in_the_deployments_zone_at_that_date() -> None:
    """Summer time where the zone has it, and the date of the place, not of UTC."""
    assert texts.reminder(ZH, SUMMER, HELSINKI, None) == (
        "提醒：您在2026年7月1日星期三 00:05（东欧夏令时间）有预约。"
    )
    assert texts.reminder(EN, SUMMER, HELSINKI, None) == (
        "Reminder: you have an appointment on Wednesday, July 1, 2026 at 12:05\u202fAM "
        "(Eastern European Summer Time)."
    )
    assert texts.reminder(EN, SUMMER, ZoneInfo("UTC"), None) == (
        "Reminder: you have an appointment on Tuesday, June 30, 2026 at 9:05\u202fPM "
        "(Coordinated Universal Time)."
    )
