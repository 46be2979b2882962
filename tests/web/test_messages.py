"""The templates' messages: translated, always formatted, and what is put into them escaped,
as Jinja's new-style gettext gives them."""

import pytest
from jinja2 import Environment
from markupsafe import Markup

from medsvc.web import i18n
from medsvc.web.messages import template_gettext
from medsvc.web.render import environment

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b", "100%"]


def _render(source: str, locale: str = "en", **values: object) -> str:
    env: Environment = environment(locale)
    return env.from_string(source).render(**values)


@pytest.mark.parametrize("name", HOSTILE)
def test_what_is_put_into_a_message_is_escaped(name: str) -> None:
    shown = _render('{{ _("%(name)s over time", name=name) }}', name=name)
    assert shown == f"{Markup.escape(name)} over time"
    assert "<script" not in shown
    assert "<img" not in shown


@pytest.mark.parametrize("num", [1, 2])
def test_a_plural_message_is_chosen_by_its_number_and_escapes_the_rest(num: int) -> None:
    source = (
        '{{ ngettext("%(num)d result will be ready from %(time)s.", '
        '"%(num)d results will be ready, the first from %(time)s.", num, time=when) }}'
    )
    shown = _render(source, num=num, when="<b>9:00</b>")
    expected = "result will be ready from" if num == 1 else "results will be ready, the first"
    assert shown.startswith(f"{num} {expected}")
    assert "&lt;b&gt;9:00&lt;/b&gt;" in shown
    assert "<b>" not in shown


def test_a_message_is_translated_in_the_templates_language() -> None:
    english = _render('{{ _("Results") }}', "en")
    chinese = _render('{{ _("Results") }}', i18n.DEFAULT)
    assert english == "Results"
    assert chinese == i18n.translations(i18n.DEFAULT).gettext("Results") != "Results"


def test_a_message_is_a_format_string_with_or_without_variables() -> None:
    gettext, _ngettext = template_gettext(i18n.translations("en"))
    assert gettext("100%% sure") == "100% sure"
    assert gettext("100%% sure") is gettext("100%% sure")  # formatted once
    assert gettext("%(n)s%% sure", n="<50") == "&lt;50% sure"
    assert isinstance(gettext("Results"), Markup)


def test_a_message_is_not_escaped_twice() -> None:
    """The message is markup already: its own text is kept, only what is put in escaped."""
    shown = _render('{{ _("Unit: %(unit)s", unit=unit) }}', unit="mmol/L & <x>")
    assert shown == "Unit: mmol/L &amp; &lt;x&gt;"
