"""The benchmark's data: Slots spread over 100 schedules, and the bodies the scenarios post."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from medsvc.assembly import fhir_server
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import bundle
from medsvc.security.context import platform_context

SCHEDULES = 100
SLOTS_PER_DAY, SLOT_MINUTES = 10, 30  # 08:00-13:00: a search for one day finds ten slots
FIRST_DAY = datetime(2030, 1, 7, tzinfo=UTC)  # fixed, so every run searches the same data
BATCH = 1000  # Slots per seeding transaction


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _transaction(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {"fullUrl": full_url, **entry} if full_url else entry


def _slot(schedule_id: str, start: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "status": "free",
        "schedule": {"reference": f"Schedule/{schedule_id}"},
        "serviceType": [{"coding": [{"system": "urn:medsvc:bench:service", "code": "gp"}]}],
        "start": _instant(start),
        "end": _instant(start + timedelta(minutes=SLOT_MINUTES)),
    }


def days_for(slots: int) -> int:
    """How many days the slots span, each schedule having SLOTS_PER_DAY a day."""
    return max(1, -(-slots // (SCHEDULES * SLOTS_PER_DAY)))


def seed(settings: Settings, slots: int) -> list[str]:
    """Writes a Location, the schedules and `slots` Slots through the FHIR layer; returns the
    schedule ids. In-process transactions skip HTTP but keep validation and indexing, which
    are what make a Slot cost what it costs."""
    server = fhir_server(settings)
    database = Database(settings)

    def run(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _kind, parsed = bundle.parse_bundle(_transaction(entries), settings.base_url)
        with database.session(write=True) as session:
            return bundle.run_transaction(server, session, platform_context("bench"), parsed, None)

    try:
        location = {"resourceType": "Location", "status": "active", "name": "Bench Clinic"}
        schedules = [
            _post(
                {
                    "resourceType": "Schedule",
                    "active": True,
                    "actor": [{"reference": "urn:uuid:location"}],
                }
            )
            for _ in range(SCHEDULES)
        ]
        responses = run([_post(location, "urn:uuid:location"), *schedules])[1:]
        ids = [r["response"]["location"].split("/")[-3] for r in responses]
        # Day by day across every schedule, the order a hospital publishes its calendar in.
        pending: list[dict[str, Any]] = []
        for n in range(slots):
            day, rest = divmod(n, SCHEDULES * SLOTS_PER_DAY)
            schedule, index = divmod(rest, SLOTS_PER_DAY)
            start = FIRST_DAY + timedelta(days=day, hours=8, minutes=SLOT_MINUTES * index)
            pending.append(_post(_slot(ids[schedule], start)))
            if len(pending) == BATCH:
                run(pending)
                pending = []
        if pending:
            run(pending)
    finally:
        database.dispose()
    return ids


def search_query(schedule_id: str, day: int) -> str:
    """One day of one schedule: what a booking page asks for."""
    date = FIRST_DAY + timedelta(days=day)
    return (
        f"Slot?schedule=Schedule/{schedule_id}&start=ge{date:%Y-%m-%d}"
        f"&start=lt{date + timedelta(days=1):%Y-%m-%d}"
    )


def patient_body() -> bytes:
    return json.dumps(
        {
            "resourceType": "Patient",
            "active": True,
            "identifier": [{"system": "urn:medsvc:bench:patient", "value": "bench-1"}],
            "name": [{"family": "Virtanen", "given": ["Aino"]}],
            "gender": "female",
            "birthDate": "1984-05-17",
        }
    ).encode()


# What a lab's push must say of each Observation (docs/results.md): its category and when it
# was released.
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def transaction_body() -> bytes:
    """A lab pushing a panel: one new Patient and 49 Observations pointing at it by urn:uuid."""
    patient = f"urn:uuid:{uuid.UUID(int=1)}"
    entries = [_post(json.loads(patient_body()), patient)]
    for n in range(49):
        entries.append(
            _post(
                {
                    "resourceType": "Observation",
                    "status": "final",
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": OBSERVATION_CATEGORY,
                                    "code": "laboratory",
                                }
                            ]
                        }
                    ],
                    "code": {
                        "coding": [
                            {
                                "system": "http://loinc.org",
                                "code": "718-7",
                                "display": "Hemoglobin [Mass/volume] in Blood",
                            }
                        ]
                    },
                    "subject": {"reference": patient},
                    "effectiveDateTime": f"2030-01-07T08:{n:02d}:00Z",
                    "issued": "2030-01-07T13:00:00Z",
                    "valueQuantity": {
                        "value": 130 + n % 20,
                        "unit": "g/L",
                        "system": "http://unitsofmeasure.org",
                        "code": "g/L",
                    },
                },
                f"urn:uuid:{uuid.UUID(int=n + 2)}",
            )
        )
    return json.dumps(_transaction(entries)).encode()
