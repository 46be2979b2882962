"""FHIR data as people read it: names (Chinese ones without a space), a resource's display
text, and an appointment as a row of a list."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# A FHIR id (datatypes.html#id): a path segment that is anything else is refused before any call.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
TRANSLATION_BYTES = TRANSLATION.encode()


def _translation(element: Any, language: str) -> str:
    """The content of a translation extension (on a primitive's `_name` sibling) into the
    language (a BCP 47 tag: "en" matches "en-GB", and "zh-CN" matches "zh")."""
    wanted = language.lower().split("-", 1)[0]
    extensions = element.get("extension") if isinstance(element, dict) else None
    for extension in extensions if isinstance(extensions, list) else []:
        if not isinstance(extension, dict) or extension.get("url") != TRANSLATION:
            continue
        parts = {
            str(part.get("url")): part
            for part in extension.get("extension") or []
            if isinstance(part, dict)
        }
        lang = str((parts.get("lang") or {}).get("valueCode", "")).lower()
        content = (parts.get("content") or {}).get("valueString")
        if lang.split("-", 1)[0] == wanted and isinstance(content, str) and content.strip():
            return content
    return ""


def localised(value: Any, language: str) -> Any:
    """The JSON, changed in place: each string that carries a translation into the language
    (FHIR's translation extension) replaced by it: names of hospitals, places and departments."""
    pending = [value]
    while pending:
        item = pending.pop()
        children = item.values() if isinstance(item, dict) else item
        pending.extend(child for child in children if isinstance(child, dict | list))
        if not isinstance(item, dict):
            continue
        for key in [key for key in item if key.startswith("_")]:
            if isinstance(item.get(key[1:]), str):
                item[key[1:]] = _translation(item[key], language) or item[key[1:]]
    return value


def read_json(content: bytes, language: str) -> Any:
    """An API answer's JSON in the page's language. Most answers carry no translation, and
    then the walk through them (thousands of elements in a day's free times) is skipped."""
    value = orjson.loads(content)
    return localised(value, language) if TRANSLATION_BYTES in content else value


def parse_instant(text: str) -> datetime | None:
    """A FHIR instant as a datetime in UTC, or None when it is not one."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo else None
    except (ValueError, OverflowError):  # not an instant, or beyond the calendar in UTC
        return None


def instant(moment: datetime) -> str:
    """A FHIR instant in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def human_name(names: Any) -> str:
    """The first usable HumanName: its text, else family and given names in the order of
    their script (Chinese: family first, no space)."""
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        family = str(name["family"]) if isinstance(name.get("family"), str) else ""
        given = [g for g in name.get("given") or [] if isinstance(g, str)]
        if CJK.search(family + "".join(given)):
            return family + "".join(given)
        if family or given:
            return " ".join([*given, family]).strip()
    return ""


def resource_name(resource: dict[str, Any] | None) -> str:
    if not resource:
        return ""
    if resource.get("resourceType") in ("Patient", "Practitioner", "RelatedPerson"):
        return human_name(resource.get("name"))
    name = resource.get("name")
    return name if isinstance(name, str) else ""


def concept_text(concepts: Any) -> str:
    """A CodeableConcept's (or the first of a list's) text, else its first coding's display."""
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        if not isinstance(concept, dict):
            continue
        if isinstance(concept.get("text"), str):
            return str(concept["text"])
        for coding in concept.get("coding") or []:
            if isinstance(coding, dict) and isinstance(coding.get("display"), str):
                return str(coding["display"])
    return ""


def included(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Bundle's resources by "Type/id", for resolving the references of its matches."""
    found = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") or {}
        found[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
    return found


def has_next(bundle: dict[str, Any]) -> bool:
    """Whether a search's Bundle has a further page."""
    return any(
        isinstance(link, dict) and link.get("relation") == "next"
        for link in bundle.get("link") or []
    )


def matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if (entry.get("search") or {}).get("mode", "match") == "match" and "resource" in entry
    ]


@dataclass(frozen=True)
class AppointmentRow:
    id: str
    start: str
    end: str
    status: str
    service: str
    doctor: str
    place: str
    patient: str
    patient_id: str
    reason: str
    version: str  # meta.versionId: a change is made only to the version the person saw


def appointment_row(
    appointment: dict[str, Any], others: dict[str, dict[str, Any]]
) -> AppointmentRow:
    named = {"Practitioner": "", "Location": "", "Patient": ""}
    patient_id = ""
    for participant in appointment.get("participant") or []:
        reference = str(((participant or {}).get("actor") or {}).get("reference", ""))
        kind, _, actor_id = reference.partition("/")
        if kind in named and not named[kind]:
            actor = participant.get("actor") or {}
            named[kind] = resource_name(others.get(reference)) or str(actor.get("display", ""))
            patient_id = actor_id if kind == "Patient" else patient_id
    return AppointmentRow(
        id=str(appointment.get("id", "")),
        start=str(appointment.get("start", "")),
        end=str(appointment.get("end", "")),
        status=str(appointment.get("status", "")),
        service=concept_text(appointment.get("serviceType"))
        or concept_text(appointment.get("specialty")),
        doctor=named["Practitioner"],
        place=named["Location"],
        patient=named["Patient"],
        patient_id=patient_id,
        reason=concept_text(appointment.get("reasonCode"))
        or str(appointment.get("description") or appointment.get("comment") or ""),
        version=str((appointment.get("meta") or {}).get("versionId", "")),
    )
