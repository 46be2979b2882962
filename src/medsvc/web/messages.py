"""The templates' `_()` and `ngettext()`: a language's messages as Jinja's "new style" gettext
gives them (translated, marked safe, then formatted with their variables escaped), with each
message that has no variables translated and formatted once per process."""

from collections.abc import Callable
from gettext import GNUTranslations
from typing import Any

from markupsafe import Markup

Gettext = Callable[..., Markup]


def _ours(message: str) -> Markup:
    """A message of our catalogues is the app's own text, written in its templates and .po
    files, so it is markup as it stands, as Jinja's gettext takes it; only what is put into
    it is escaped."""
    return Markup(message)  # noqa: S704 (our own catalogue's text, never a person's input)


def template_gettext(translations: GNUTranslations) -> tuple[Gettext, Gettext]:
    """gettext and ngettext for one language's templates. As Jinja's own (jinja2.ext), a
    message is always a format string ("%%" is "%" with or without variables), and what
    is put into it is escaped by Markup's formatting; Jinja's own resolve and call through
    the template's context twice a message, which costs a page more than its layout."""
    plain: dict[str, Markup] = {}

    def gettext(message: str, **variables: Any) -> Markup:
        if variables:
            return _ours(translations.gettext(message)) % variables
        found = plain.get(message)
        if found is None:
            found = plain[message] = _ours(translations.gettext(message)) % {}
        return found

    def ngettext(singular: str, plural: str, num: int, **variables: Any) -> Markup:
        variables.setdefault("num", num)
        return _ours(translations.ngettext(singular, plural, num)) % variables

    return gettext, ngettext
