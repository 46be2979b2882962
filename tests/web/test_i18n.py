"""The translation catalogues: every message of the templates and views in both languages,
with the same placeholders, and the catalogue compiled in memory as the app loads it."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from medsvc.web import i18n

ROOT = Path(__file__).parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
METHODS = [
    ("src/medsvc/web/**.py", "python"),
    ("src/medsvc/web/templates/**.html", "jinja2"),
]


def extracted() -> set[str]:
    found = extract_from_dir(
        str(ROOT),
        METHODS,
        options_map={"src/medsvc/web/templates/**.html": {"trim_blocks": "true"}},
    )
    return {m[2] if isinstance(m[2], str) else m[2][0] for m in found}


def catalogue(locale: str) -> dict[str, tuple[str, ...]]:
    path = i18n.CATALOGUES / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        messages = read_po(po, locale=locale)
    found = {}
    for message in messages:
        if not message.id or message.fuzzy:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found[key] = tuple(strings)
    return found


def test_every_message_has_both_translations_with_the_same_placeholders() -> None:
    wanted = extracted()
    assert len(wanted) > 20
    for locale in i18n.LOCALES:
        translated = catalogue(locale)
        missing = sorted(wanted - set(translated))
        assert not missing, f"{locale} lacks {missing}"
        for key in wanted:
            for text in translated[key]:
                assert text, f"{locale}: '{key}' is untranslated"
                assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(key)), key


def test_the_chinese_catalogue_is_chinese() -> None:
    translated = catalogue(i18n.DEFAULT)
    assert all(re.search(r"[\u4e00-\u9fff]", t[0]) for t in translated.values())


def test_catalogues_compile_as_the_app_loads_them() -> None:
    zh = i18n.translations("zh_Hans_CN")
    assert zh.gettext("Sign in") == "登录"
    assert (
        zh.ngettext(
            "Please wait %(num)d second and try again.",
            "Please wait %(num)d seconds and try again.",
            5,
        )
        == "请等待 %(num)d 秒后重试。"
    )
    assert i18n.translations("en").gettext("Sign in") == "Sign in"


def test_accept_language_is_read_by_quality_then_order() -> None:
    assert i18n.from_header("de;q=1, en;q=0.8, zh;q=0.9") == "zh_Hans_CN"
    assert i18n.from_header("en-US,zh-CN;q=0.5") == "en"
    assert i18n.from_header("*") == "zh_Hans_CN"
    assert i18n.from_header("en;q=0") == "zh_Hans_CN"
    assert i18n.from_header("," * 10_000 + "en") == "zh_Hans_CN"
