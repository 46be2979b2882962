"""Whole numbers read from URLs and headers: versions, counts, paging cursors.

Only ASCII digits count (str.isdigit() also takes '²', which int() refuses), and only values
a BIGINT column can hold: a larger one would overflow the database driver, not match a row.
"""

import re

BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def natural(text: str) -> int | None:
    """The non-negative integer the text spells, or None for anything else or anything larger
    than a BIGINT."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= BIGINT_MAX else None
