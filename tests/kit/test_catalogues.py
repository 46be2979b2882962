"""Catalogues compiled in memory from their .po files, once per process."""

from pathlib import Path

import pytest

from medsvc.kit import catalogues

PO = """msgid ""
msgstr ""
"Language: zh_Hans_CN\\n"
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Hello, %(name)s."
msgstr "%(name)s，您好。"

msgid "Untranslated"
msgstr ""
"""


def test_a_catalogue_is_compiled_from_its_po_file_once(tmp_path: Path) -> None:
    folder = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "greetings.po").write_text(PO, encoding="utf-8")
    found = catalogues.translations(tmp_path, "greetings", "zh_Hans_CN")
    assert found.gettext("Hello, %(name)s.") % {"name": "王芳"} == "王芳，您好。"
    assert found.gettext("Untranslated") == "Untranslated"
    assert catalogues.translations(tmp_path, "greetings", "zh_Hans_CN") is found


def test_a_locale_without_a_catalogue_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        catalogues.translations(tmp_path, "greetings", "fi")
