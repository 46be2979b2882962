"""The query a search's audit record keeps: as the caller sent it, except the values of
blind-indexed parameters (the codes that say what was tested), which it keeps as their index
tokens, so that the audit trail holds no code the index does not (fhir/blinding.py)."""

from urllib.parse import parse_qsl, quote, urlencode

from medsvc.errors import Invalid
from medsvc.fhir import Blinder, Definitions, Limits, ResourceDefinition

# A value of a blind-indexed parameter that has no token: a system alone, free text (:text),
# a value set (:in), or a parameter reached through a chain or _has, whose type is not known
# without resolving it.
WITHHELD = "withheld"
# Modifiers whose value is a token like the parameter's own (FHIR search: token modifiers).
_TOKEN_VALUED = frozenset({None, "not"})


def audited_query(
    definitions: Definitions, resource_type: str | None, query: str, limits: Limits | None = None
) -> str:
    """The query with every blind-indexed parameter's values replaced by their tokens; the
    query itself, unchanged, when it has none. A query past the search limits, refused
    without being run, is recorded as withheld: splitting it would cost what its refusal
    saved, and a part of it could hold codes unblinded."""
    definition = definitions.resource(resource_type) if resource_type else None
    limits = limits or Limits()
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=limits.max_search_params)
    except ValueError:
        return WITHHELD
    if any(len(k) + len(v) > limits.max_search_value_chars for k, v in pairs):
        return WITHHELD
    kept = [(name, _kept_value(definitions, definition, name, value)) for name, value in pairs]
    if kept == pairs:
        return query
    return urlencode(kept, safe="|:,", quote_via=quote)


def _kept_value(
    definitions: Definitions, definition: ResourceDefinition | None, name: str, value: str
) -> str:
    if "." in name or name.startswith("_has:") or definition is None:
        return WITHHELD if _blinded_anywhere(definitions, _last_code(name)) else value
    code, _, modifier = name.partition(":")
    param = definition.params.get(code)
    blinder: Blinder | None = param.blinder if param is not None else None
    if blinder is None:
        return value
    if (modifier or None) not in _TOKEN_VALUED:
        return WITHHELD
    return ",".join(_token(blinder, one) for one in value.split(","))


def _token(blinder: Blinder, value: str) -> str:
    try:
        return blinder.query_value(value)
    except Invalid:
        return WITHHELD


def _last_code(name: str) -> str:
    """The parameter a chain or _has ends in: `result.code`, `_has:Observation:patient:code`
    and `_has:Observation:patient:code:not` end in `code`."""
    if "." in name:
        return name.rsplit(".", 1)[-1].split(":", 1)[0]
    parts = name.split(":")
    if parts[0] != "_has":
        return parts[0]
    innermost = len(parts) - 1 - parts[::-1].index("_has")  # _has may nest
    return parts[innermost + 3] if len(parts) > innermost + 3 else ""


def _blinded_anywhere(definitions: Definitions, code: str) -> bool:
    return any(
        param.blinder is not None
        for definition in definitions.resources.values()
        if (param := definition.params.get(code)) is not None
    )
