"""Demonstration data for the embedded default: one hospital, two doctors and their slots
(one doctor's from a schedule template), two citizens, and (demo_access) the accounts and
clients to sign in with.

Loaded through a transaction Bundle with conditional creates, so loading twice adds nothing
but the slots of days not loaded before.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.cli import demo_access
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import parse_bundle, run_transaction
from medsvc.security.context import platform_context

SYSTEM = "urn:medsvc:demo"
DAYS, SLOT_MINUTES = 7, 20
# Dr Laine's slots are published one by one; Dr Koski's come from a schedule template
# (docs/scheduling.md), which the templates job makes into slots once the service runs.
TEMPLATED = ("dr-koski",)
MORNINGS = {
    "url": "urn:medsvc:extension:availability-template",
    "extension": [
        *({"url": "daysOfWeek", "valueCode": day} for day in ("mon", "tue", "wed", "thu", "fri")),
        {"url": "availableStartTime", "valueTime": "08:00:00"},
        {"url": "availableEndTime", "valueTime": "12:00:00"},
        {"url": "slotMinutes", "valuePositiveInt": SLOT_MINUTES},
        {"url": "horizonDays", "valuePositiveInt": 14},
    ],
}


def _entry(full_url: str, resource: dict[str, Any], key: str) -> dict[str, Any]:
    resource = {**resource, "identifier": [{"system": SYSTEM, "value": key}]}
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {
            "method": "POST",
            "url": resource["resourceType"],
            "ifNoneExist": f"identifier={SYSTEM}|{key}",
        },
    }


def _directory() -> list[dict[str, Any]]:
    entries = [
        _entry(
            "urn:uuid:org",
            {"resourceType": "Organization", "active": True, "name": "City Hospital"},
            "org-city-hospital",
        ),
        _entry(
            "urn:uuid:loc",
            {
                "resourceType": "Location",
                "status": "active",
                "name": "City Hospital, Outpatient Clinic",
                "managingOrganization": {"reference": "urn:uuid:org"},
            },
            "loc-outpatient",
        ),
    ]
    for key, family, given in (("dr-laine", "Laine", "Sanna"), ("dr-koski", "Koski", "Juha")):
        entries.append(
            _entry(
                f"urn:uuid:{key}",
                {
                    "resourceType": "Practitioner",
                    "active": True,
                    "name": [{"family": family, "given": [given], "prefix": ["Dr."]}],
                },
                key,
            )
        )
        schedule: dict[str, Any] = {
            "resourceType": "Schedule",
            "active": True,
            "actor": [{"reference": f"urn:uuid:{key}"}, {"reference": "urn:uuid:loc"}],
        }
        if key in TEMPLATED:
            schedule["extension"] = [MORNINGS]
        entries.append(_entry(f"urn:uuid:schedule-{key}", schedule, f"schedule-{key}"))
    return entries


def _slots(today: datetime) -> list[dict[str, Any]]:
    entries = []
    for key in ("dr-laine",):
        for day in range(1, DAYS + 1):
            date = today + timedelta(days=day)
            if date.weekday() >= 5:
                continue
            for n in range(12):
                start = date.replace(hour=8) + timedelta(minutes=SLOT_MINUTES * n)
                end = start + timedelta(minutes=SLOT_MINUTES)
                stamp = start.strftime("%Y%m%dT%H%M")
                entries.append(
                    _entry(
                        f"urn:uuid:slot-{key}-{stamp}",
                        {
                            "resourceType": "Slot",
                            "status": "free",
                            "schedule": {"reference": f"urn:uuid:schedule-{key}"},
                            "start": start.isoformat().replace("+00:00", "Z"),
                            "end": end.isoformat().replace("+00:00", "Z"),
                        },
                        f"slot-{key}-{stamp}",
                    )
                )
    return entries


def _citizens() -> list[dict[str, Any]]:
    return [
        _entry(
            f"urn:uuid:{key}",
            {
                "resourceType": "Patient",
                "name": [{"family": family, "given": [given]}],
                "birthDate": born,
            },
            key,
        )
        for key, family, given, born in (
            ("pat-aino", "Virtanen", "Aino", "1984-05-17"),
            ("pat-eero", "Nieminen", "Eero", "1951-11-02"),
        )
    ]


# Who signs in to the demo, by the demo key of the resource they sign in as.
PEOPLE = {"aino": "pat-aino", "eero": "pat-eero", "dr.laine": "dr-laine", "dr.koski": "dr-koski"}


def _created(entries: list[dict[str, Any]], responses: list[dict[str, Any]]) -> dict[str, str]:
    """Type/id of each entry, by its demo key."""
    found = {}
    for entry, response in zip(entries, responses, strict=True):
        key = entry["resource"]["identifier"][0]["value"]
        location = response["response"]["location"].split("/_history")[0]
        found[key] = "/".join(location.rsplit("/", 2)[-2:])
    return found


def load(settings: Settings) -> dict[str, Any]:
    """Loads the demo data, people and clients; returns how many resources were created and
    already present, and who may sign in."""
    today = clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    entries = _directory() + _citizens() + _slots(today)
    body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    database = Database(settings)
    server = fhir_server(settings)
    try:
        _kind, parsed = parse_bundle(body, settings.base_url)
        with database.session(write=True) as session:
            responses = run_transaction(server, session, platform_context("demo"), parsed, None)
            ids = _created(entries, responses)
            people = {user: ids[key] for user, key in PEOPLE.items()}
            access = demo_access.ensure(session, people, ids["org-city-hospital"])
    finally:
        database.dispose()
    created = sum(1 for r in responses if r["response"]["status"].startswith("201"))
    return {"created": created, "existing": len(responses) - created, "access": access}
