"""The app's languages: Simplified Chinese (the default) and English, chosen by the person (a
cookie), else by Accept-Language; gettext catalogues read from locale/ when first needed."""

import gettext
from pathlib import Path

from starlette.requests import Request

from medsvc.kit import catalogues

CATALOGUES = Path(__file__).parent / "locale"
DEFAULT = "zh_Hans_CN"
LOCALES = (DEFAULT, "en")
# The person's choice, remembered by the browser (no health data: not HttpOnly-worthy, but
# kept so anyway, since no script reads it).
COOKIE = "medsvc_lang"
# Language tags of <html lang> (BCP 47), and the short codes of the language links.
TAGS = {DEFAULT: "zh-CN", "en": "en"}
SHORT = {"zh": DEFAULT, "en": "en"}


def translations(locale: str) -> gettext.GNUTranslations:
    """The catalogue of a locale, compiled in memory from its .po file (no build step)."""
    return catalogues.translations(CATALOGUES, "messages", locale)


def _accepted(header: str) -> list[str]:
    """The languages of an Accept-Language header (RFC 9110 12.5.4), most wanted first."""
    ranked = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    return [tag for _q, _p, tag in sorted(ranked)]


def from_header(header: str) -> str:
    """Any Chinese is served in Simplified Chinese, the only Chinese the app has."""
    for tag in _accepted(header):
        primary = tag.split("-", 1)[0]
        if primary in SHORT:
            return SHORT[primary]
    return DEFAULT


def chosen(request: Request) -> str:
    remembered = SHORT.get(request.cookies.get(COOKIE, ""))
    return remembered or from_header(request.headers.get("accept-language", ""))
