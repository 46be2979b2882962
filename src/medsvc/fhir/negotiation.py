"""HTTP content negotiation for FHIR (http.html#mime-type): formats, Prefer, body kinds."""

from dataclasses import dataclass

from medsvc.errors import NotAcceptable, UnsupportedMediaType

FHIR_JSON = "application/fhir+json"
JSON_FORMATS = {
    "json",
    "application/fhir+json",
    "application/json",
    "application/json+fhir",
    "text/json",
    "application/fhir json",
}  # a "+" in a query string arrives as a space
JSON_BODIES = {"application/fhir+json", "application/json", "application/json+fhir"}
PATCH_BODY = "application/json-patch+json"
FORM_BODY = "application/x-www-form-urlencoded"


def media_type(header: str | None) -> str | None:
    if not header:
        return None
    return header.split(";", 1)[0].strip().lower() or None


def _accepted(accept: str) -> list[str]:
    ranges = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        weight = next((p[2:] for p in pieces[1:] if p.startswith("q=")), "1")
        if weight.strip() not in ("0", "0.0", "0.00", "0.000"):
            ranges.append(pieces[0].lower())
    return ranges


def wants_json(format_param: str | None, accept: str | None, *, native: bool = False) -> bool:
    """True when the client asks for FHIR JSON explicitly; False when anything will do.

    Raises 406 when it asks only for formats this server does not produce. A read of a Binary
    (native) is answered in the Binary's own media type unless JSON is asked for (binary.html).
    """
    if format_param is not None:
        if format_param.strip().lower() in JSON_FORMATS:
            return True
        raise NotAcceptable(f"_format={format_param} is not supported; use json")
    if not accept:
        return False
    ranges = _accepted(accept)
    if any(r in JSON_FORMATS for r in ranges):
        return True
    if native or any(r in ("*/*", "application/*") for r in ranges):
        return False
    raise NotAcceptable(
        f"None of the accepted formats ({accept}) is supported; this server produces {FHIR_JSON}"
    )


def body_kind(content_type: str | None) -> str:
    """json, patch, form, absent, or the media type itself for raw (Binary) content."""
    kind = media_type(content_type)
    if kind is None:
        return "absent"
    if kind in JSON_BODIES:
        return "json"
    if kind == PATCH_BODY:
        return "patch"
    if kind == FORM_BODY:
        return "form"
    return kind


def require_json_body(kind: str) -> None:
    if kind not in ("json", "absent"):
        raise UnsupportedMediaType(f"Request bodies must be {FHIR_JSON}, not {kind}")


@dataclass(frozen=True)
class Prefer:
    return_: str | None = None  # minimal | representation | OperationOutcome
    strict: bool = False


def parse_prefer(header: str | None) -> Prefer:
    if not header:
        return Prefer()
    values = {}
    for token in header.replace(";", ",").split(","):
        key, _, value = token.strip().partition("=")
        values[key.strip().lower()] = value.strip().strip('"')
    return_ = values.get("return")
    if return_ not in ("minimal", "representation", "OperationOutcome"):
        return_ = None
    return Prefer(return_, values.get("handling") == "strict")
