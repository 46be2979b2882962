"""The demo's transaction Bundle: conditional creates by demo key, and names in both languages."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SYSTEM = "urn:medsvc:demo"
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
Resource = dict[str, Any]


def english(text: str) -> Resource:
    """The primitive extension that gives an element's English (core extension translation)."""
    parts = [{"url": "lang", "valueCode": "en"}, {"url": "content", "valueString": text}]
    return {"extension": [{"url": TRANSLATION, "extension": parts}]}


def named(chinese: str, in_english: str) -> Resource:
    """A name element in Chinese, with its English for display."""
    return {"name": chinese, "_name": english(in_english)}


def concept(chinese: str, in_english: str, *codings: tuple[str, str, str]) -> Resource:
    """A CodeableConcept read in Chinese (text) and English (its translation and displays);
    codings are (system, code, display)."""
    found: Resource = {"text": chinese, "_text": english(in_english)}
    if codings:
        found["coding"] = [{"system": s, "code": c, "display": d} for s, c, d in codings]
    return found


def human_names(family: str, given: str, pinyin: str) -> list[Resource]:
    """A Chinese name as written, then in pinyin (family name first, as in Chinese), which a
    search typed in Latin letters finds; a person's name is not translated."""
    pinyin_family, _, pinyin_given = pinyin.partition(" ")
    return [
        {"use": "official", "family": family, "given": [given]},
        {"family": pinyin_family, "given": [pinyin_given]},
    ]


def full_url(key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{SYSTEM}|{key}')}"


def ref(key: str) -> dict[str, str]:
    """A reference to the entry of a demo key, rewritten to Type/id by the transaction."""
    return {"reference": full_url(key)}


class Entries:
    """The Bundle's entries by demo key, in the order first added: a key added again is the
    same entry, so a slot that a visit takes and the day's free slots share one."""

    def __init__(self) -> None:
        self._by_key: dict[str, Resource] = {}

    def add(self, key: str, resource: Resource, condition: str | None = None) -> dict[str, str]:
        """Adds a create unless one exists that matches condition (default: the demo
        identifier, which the resource is given); returns the reference to it."""
        if key not in self._by_key:
            if condition is None:
                resource = {**resource, "identifier": [{"system": SYSTEM, "value": key}]}
                condition = f"identifier={SYSTEM}|{key}"
            request = {"method": "POST", "url": resource["resourceType"], "ifNoneExist": condition}
            self._by_key[key] = {"fullUrl": full_url(key), "resource": resource, "request": request}
        return ref(key)

    @property
    def keys(self) -> list[str]:
        return list(self._by_key)

    def bundle(self) -> Resource:
        return {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": list(self._by_key.values()),
        }


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """A wall-clock time of the city on a day, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), zone)


def weekday_from(day: date, step: int) -> date:
    """The day itself if a weekday, else the nearest weekday in the step's direction."""
    while day.weekday() >= 5:
        day += timedelta(days=step)
    return day
