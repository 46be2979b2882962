"""Demonstration data for the embedded default: one hospital, two doctors and their slots.

Loaded through a transaction Bundle with conditional creates, so loading twice adds nothing
but the slots of days not loaded before.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from medsvc import clock
from medsvc.app import fhir_server
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import bundle
from medsvc.security.context import platform_context

SYSTEM = "urn:medsvc:demo"
DAYS, SLOT_MINUTES = 7, 20


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
        entries.append(
            _entry(
                f"urn:uuid:schedule-{key}",
                {
                    "resourceType": "Schedule",
                    "active": True,
                    "actor": [{"reference": f"urn:uuid:{key}"}, {"reference": "urn:uuid:loc"}],
                },
                f"schedule-{key}",
            )
        )
    return entries


def _slots(today: datetime) -> list[dict[str, Any]]:
    entries = []
    for key in ("dr-laine", "dr-koski"):
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


def load(settings: Settings) -> dict[str, int]:
    """Loads the demo data; returns how many resources were created and already present."""
    today = clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    body = {"resourceType": "Bundle", "type": "transaction", "entry": _directory() + _slots(today)}
    server = fhir_server(settings)
    database = Database(settings)
    try:
        _kind, entries = bundle.parse_bundle(body, settings.base_url)
        with database.session(write=True) as session:
            responses = bundle.run_transaction(
                server, session, platform_context("demo"), entries, None
            )
    finally:
        database.dispose()
    created = sum(1 for r in responses if r["response"]["status"].startswith("201"))
    return {"created": created, "existing": len(responses) - created}
