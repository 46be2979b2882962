"""FHIR JSON in and out: decimals keep their written precision, output is orjson bytes.

FHIR decimals are significant to their last digit ("5.40" is not "5.4"), so request bodies
are parsed with Decimal numbers and written back verbatim; floats never enter the store.
"""

import json
import re
from decimal import Decimal
from typing import Any

import orjson

from medsvc.errors import Structure

_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _decimal_to_fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot serialise {type(value).__name__}")


def loads(data: bytes | str) -> Any:
    """Parses JSON text, keeping decimals exact; raises Structure on anything malformed."""
    raw = data.encode() if isinstance(data, str) else data
    if _NUL_ESCAPE.search(raw):
        raise Structure("Strings may not contain the NUL character (\\u0000)")
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise Structure(f"The body is not valid JSON: {error}") from error


def loads_stored(data: bytes) -> Any:
    """Parses JSON this service wrote itself (already validated)."""
    return json.loads(data, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_decimal_to_fragment)


def raw(data: bytes) -> orjson.Fragment:
    """Embeds already-serialised JSON (a stored resource) in a larger document as-is."""
    return orjson.Fragment(data)
