"""What an Appointment's status means for its slots, and the parts of one the booking
rules read: its slots, its patient, its time."""

from datetime import datetime
from typing import Any

from medsvc.fhir import references
from medsvc.fhir.datetimes import format_instant, parse_instant

HOLDING = frozenset({"pending"})
# Statuses whose seats stay taken: the time is the patient's even once it has passed.
BOOKED = frozenset({"booked", "arrived", "checked-in", "fulfilled", "noshow"})
ACTIVE = HOLDING | BOOKED
HOSPITAL_SIDE = frozenset({"arrived", "checked-in", "fulfilled", "noshow", "entered-in-error"})
HOLD_EXPIRES_URL = "urn:medsvc:extension:hold-expires"
# What identifies a booking: a citizen changes none of it on an active appointment (a new
# time is a new booking, made with $book and the appointment it replaces).
BOOKING_ELEMENTS = ("slot", "start", "end")


def slot_ids(resource: dict[str, Any] | None, base_url: str) -> list[str]:
    """The ids of the local Slots the appointment refers to, in order, once each."""
    found: list[str] = []
    for reference in (resource or {}).get("slot", []):
        target = references.local_target(reference.get("reference"), base_url)
        if target is not None and target.type == "Slot" and target.id not in found:
            found.append(target.id)
    return found


def patient_id(resource: dict[str, Any] | None, base_url: str) -> str | None:
    for participant in (resource or {}).get("participant", []):
        actor = (participant.get("actor") or {}).get("reference")
        target = references.local_target(actor, base_url)
        if target is not None and target.type == "Patient":
            return target.id
    return None


def status_of(resource: dict[str, Any] | None) -> str | None:
    return (resource or {}).get("status")


def start_of(resource: dict[str, Any] | None) -> datetime | None:
    start = (resource or {}).get("start")
    return parse_instant(start) if start else None


def _actors(resource: dict[str, Any]) -> list[Any]:
    return sorted(
        str((p.get("actor") or {}).get("reference")) for p in resource.get("participant", [])
    )


def booking_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether the time, the slots or who takes part differ (participants' answers aside)."""
    if _actors(before) != _actors(after):
        return True
    return any(before.get(name) != after.get(name) for name in BOOKING_ELEMENTS)


def set_hold_expiry(resource: dict[str, Any], until: datetime | None) -> None:
    """Shows a held appointment's end of hold to the client (removed once it is booked)."""
    kept = [e for e in resource.get("extension", []) if e.get("url") != HOLD_EXPIRES_URL]
    if until is not None:
        kept.append({"url": HOLD_EXPIRES_URL, "valueInstant": format_instant(until)})
    if kept:
        resource["extension"] = kept
    else:
        resource.pop("extension", None)


def hold_end(resource: dict[str, Any] | None) -> datetime | None:
    """When a held appointment's hold ends, as shown on it."""
    for extension in (resource or {}).get("extension", []):
        if extension.get("url") == HOLD_EXPIRES_URL:
            return parse_instant(extension["valueInstant"])
    return None
