"""gettext catalogues read from their .po files and compiled in memory when first needed, so
translations need no build step: <directory>/<locale>/LC_MESSAGES/<domain>.po."""

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


@lru_cache(maxsize=32)
def translations(directory: Path, domain: str, locale: str) -> gettext.GNUTranslations:
    """The catalogue of a domain in a locale, compiled once per process."""
    with (directory / locale / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)
