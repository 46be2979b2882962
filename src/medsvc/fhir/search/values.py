"""Parses search values of each parameter type: prefixes, precision, system|code pairs."""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from medsvc.errors import Invalid
from medsvc.fhir.datetimes import parse_range
from medsvc.fhir.search.params import unescape

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_PREFIXED = re.compile(r"^(?P<prefix>eq|ne|gt|lt|ge|le|sa|eb|ap)?(?P<value>[-+0-9].*)$")


@dataclass(frozen=True)
class Ranged:
    """A prefixed value and the inclusive range its precision implies."""

    prefix: str
    low: float
    high: float
    point: float


def split_unescaped(value: str, separator: str = "|") -> list[str]:
    parts = re.split(r"(?<!\\)" + re.escape(separator), value)
    return [unescape(p) for p in parts]


def prefixed(value: str) -> tuple[str, str]:
    match = _PREFIXED.match(value)
    if not match:
        raise Invalid(f"'{value}' is not a valid search value here")
    return match["prefix"] or "eq", match["value"]


def date_value(value: str) -> Ranged:
    prefix, text = prefixed(value)
    low, high = parse_range(text)
    return Ranged(prefix, low, high, low)


def number_value(text: str) -> Ranged:
    """A number and the range its written precision implies: 100 is [99.5, 100.5)."""
    prefix, number = prefixed(text)
    try:
        decimal = Decimal(number)
    except InvalidOperation as error:
        raise Invalid(f"'{number}' is not a number") from error
    if not decimal.is_finite() or abs(decimal) > Decimal("1e300"):
        raise Invalid(f"'{number}' is not a number this server can search for")
    exponent = decimal.as_tuple().exponent
    half_step = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    return Ranged(prefix, float(decimal - half_step), float(decimal + half_step), float(decimal))


@dataclass(frozen=True)
class TokenValue:
    system: str | None  # None: any system; "": no system
    code: str | None  # None: any code in the system


def token_value(value: str) -> TokenValue:
    parts = split_unescaped(value)
    if len(parts) == 1:
        return TokenValue(None, parts[0])
    if len(parts) != 2:
        raise Invalid(f"'{value}' is not a token (code, system|code, |code or system|)")
    system, code = parts
    return TokenValue(system, code or None)


@dataclass(frozen=True)
class QuantityValue:
    number: Ranged
    system: str | None
    code: str | None


def quantity_value(value: str) -> QuantityValue:
    parts = split_unescaped(value)
    if len(parts) not in (1, 3):
        raise Invalid(f"'{value}' is not a quantity ([prefix]number[|system|code])")
    number = number_value(parts[0])
    if len(parts) == 1:
        return QuantityValue(number, None, None)
    return QuantityValue(number, parts[1] or None, parts[2] or None)
