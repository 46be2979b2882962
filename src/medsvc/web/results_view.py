"""Results as a citizen reads them: a report's line in the list, and each observation's value,
unit, reference range and flag (high or low in words, not by colour alone)."""

from dataclasses import dataclass
from typing import Any

from medsvc.web.display import concept_text, resource_name

# Observation.interpretation codes (HL7 v3 ObservationInterpretation) the app names.
FLAGS = {
    "H": "high",
    "HH": "critical-high",
    "HU": "critical-high",
    "L": "low",
    "LL": "critical-low",
    "LU": "critical-low",
    "A": "abnormal",
    "AA": "critical",
    "N": "normal",
}


@dataclass(frozen=True)
class ReportLine:
    id: str
    date: str
    kind: str
    place: str
    status: str
    new: bool


@dataclass(frozen=True)
class ObservationRow:
    name: str
    value: str
    unit: str
    range: str
    flag: str  # a key of FLAGS' values, or ""
    code: str  # system|code of the first coding, for the measurement's trend
    number: float | None


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f"{value:g}"


def _quantity(quantity: Any) -> tuple[str, str]:
    if not isinstance(quantity, dict):
        return "", ""
    unit = quantity.get("unit") or quantity.get("code") or ""
    return _number(quantity.get("value")), str(unit)


def _range(ranges: Any) -> str:
    for found in ranges if isinstance(ranges, list) else []:
        if not isinstance(found, dict):
            continue
        if isinstance(found.get("text"), str):
            return str(found["text"])
        low, _ = _quantity(found.get("low"))
        high, _ = _quantity(found.get("high"))
        if low or high:
            return f"{low} - {high}" if low and high else (f"≥ {low}" if low else f"≤ {high}")
    return ""


def _bound(quantity: Any) -> float | None:
    value = quantity.get("value") if isinstance(quantity, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def range_bounds(observation: dict[str, Any]) -> tuple[float | None, float | None]:
    """The first reference range's low and high as numbers, for a chart's band."""
    ranges = observation.get("referenceRange")
    for found in ranges if isinstance(ranges, list) else []:
        if isinstance(found, dict) and ("low" in found or "high" in found):
            return _bound(found.get("low")), _bound(found.get("high"))
    return None, None


def _flag(interpretations: Any) -> str:
    for concept in interpretations if isinstance(interpretations, list) else []:
        for coding in (concept or {}).get("coding") or []:
            if isinstance(coding, dict) and coding.get("code") in FLAGS:
                return FLAGS[str(coding["code"])]
    return ""


def _first_code(concept: Any) -> str:
    for coding in (concept or {}).get("coding") or [] if isinstance(concept, dict) else []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return f"{coding.get('system') or ''}|{coding['code']}"
    return ""


def _value(observation: dict[str, Any]) -> tuple[str, str]:
    if "valueQuantity" in observation:
        return _quantity(observation["valueQuantity"])
    if isinstance(observation.get("valueString"), str):
        return str(observation["valueString"]), ""
    if "valueCodeableConcept" in observation:
        return concept_text(observation["valueCodeableConcept"]), ""
    return "", ""


def observation_row(observation: dict[str, Any]) -> ObservationRow:
    value, unit = _value(observation)
    code = observation.get("code")
    quantity = observation.get("valueQuantity")
    return ObservationRow(
        name=concept_text(code) or _first_code(code).partition("|")[2],
        value=value,
        unit=unit,
        range=_range(observation.get("referenceRange")),
        flag=_flag(observation.get("interpretation")),
        code=_first_code(code),
        number=_bound(quantity),
    )


def report_line(
    report: dict[str, Any], others: dict[str, dict[str, Any]], seen: set[str]
) -> ReportLine:
    performers = [
        resource_name(others.get(str((p or {}).get("reference", ""))))
        or (p or {}).get("display", "")
        for p in report.get("performer") or []
    ]
    code = report.get("code")
    return ReportLine(
        id=str(report.get("id", "")),
        date=str(report.get("effectiveDateTime") or report.get("issued") or ""),
        kind=concept_text(code) or _first_code(code).partition("|")[2],
        place=next((p for p in performers if p), ""),
        status=str(report.get("status", "")),
        new=f"DiagnosticReport/{report.get('id')}" not in seen,
    )
