"""The booking benchmark's city: hospitals, their doctors' schedules (each of one specialty),
free Slots and Patients, written in-process through the FHIR layer (bundle.run_transaction),
so that every resource is validated and indexed and the scheduling hooks fill the ledger."""

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from medsvc.assembly import fhir_server
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import bundle
from medsvc.security.context import platform_context

SNOMED = "http://snomed.info/sct"
SERVICE_SYSTEM = "urn:medsvc:bench:service"
# Twenty practice settings (SNOMED CT): a schedule has one, its slots carry it too.
SPECIALTIES = (
    "394579002",
    "394814009",
    "394582007",
    "394583002",
    "394584008",
    "394585009",
    "394586005",
    "394587001",
    "394589003",
    "394591006",
    "394592004",
    "394594003",
    "394600006",
    "394601005",
    "394602003",
    "394604002",
    "394609007",
    "394610002",
    "394611003",
    "394612005",
)
HOSPITALS, LOCATIONS_PER_HOSPITAL = 10, 5
SLOT_MINUTES, FIRST_HOUR = 20, 8
FIRST_DAY = datetime(2030, 3, 4, tzinfo=UTC)  # fixed and ahead: $find offers no past slot
BATCH = 1000  # resources per seeding transaction, as bench/seed.py


def instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def slots_per_day(schedule: int, day: int) -> int:
    """22 or 23 slots (08:00 to 15:20 or 15:40): two days in nine have 23, so 90 days of a
    schedule hold exactly 2,000 slots and 500 schedules a million."""
    return 23 if (schedule + day) % 9 < 2 else 22


@dataclass(frozen=True)
class Schedule:
    id: str
    practitioner: str
    location: str
    specialty: str


def specialty_of(index: int) -> str:
    return SPECIALTIES[index % len(SPECIALTIES)]


def _concept(system: str, code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": system, "code": code}]}]


def slot_resource(schedule: Schedule, start: datetime) -> dict[str, Any]:
    return {
        "resourceType": "Slot",
        "status": "free",
        "schedule": {"reference": f"Schedule/{schedule.id}"},
        "serviceType": _concept(SERVICE_SYSTEM, f"svc-{schedule.specialty}"),
        "specialty": _concept(SNOMED, schedule.specialty),
        "start": instant(start),
        "end": instant(start + timedelta(minutes=SLOT_MINUTES)),
    }


def slot_start(day: int, index: int) -> datetime:
    return FIRST_DAY + timedelta(days=day, hours=FIRST_HOUR, minutes=SLOT_MINUTES * index)


def patient_resource(n: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "active": True,
        "identifier": [{"system": "urn:medsvc:bench:patient", "value": f"b-{n}"}],
        "name": [{"family": "Virtanen", "given": ["Aino"]}],
        "gender": "female",
        "birthDate": "1984-05-17",
    }


def _post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {"fullUrl": full_url, **entry} if full_url else entry


def _created_id(response: dict[str, Any]) -> str:
    return str(response["response"]["location"].split("/")[-3])  # Type/id/_history/1


class Seeder:
    """Transactions run in-process as the platform: no HTTP, but validation, indexing and
    the scheduling hooks, which are what a Slot costs to write."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.server = fhir_server(settings)
        self.database = Database(settings)

    def run(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        _kind, parsed = bundle.parse_bundle(body, self.settings.base_url)
        with self.database.session(write=True) as session:
            return bundle.run_transaction(
                self.server, session, platform_context("bench"), parsed, None
            )

    def close(self) -> None:
        self.database.dispose()

    def __enter__(self) -> "Seeder":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def city(self, schedules: int) -> list[Schedule]:
        """Hospitals with locations, one doctor per schedule; schedule n has specialty n % 20
        and one of the locations, so a specialty is found across the city."""
        entries, locations = [], []
        for h in range(HOSPITALS):
            entries.append(
                _post(
                    {"resourceType": "Organization", "active": True, "name": f"Hospital {h}"},
                    f"urn:uuid:org-{h}",
                )
            )
            for n in range(LOCATIONS_PER_HOSPITAL):
                url = f"urn:uuid:loc-{h}-{n}"
                locations.append(url)
                entries.append(
                    _post(
                        {
                            "resourceType": "Location",
                            "status": "active",
                            "name": f"Wing {h}.{n}",
                            "managingOrganization": {"reference": f"urn:uuid:org-{h}"},
                        },
                        url,
                    )
                )
        first_practitioner = len(entries)
        for n in range(schedules):
            entries.append(
                _post(
                    {
                        "resourceType": "Practitioner",
                        "active": True,
                        "identifier": [
                            {"system": "urn:medsvc:bench:practitioner", "value": f"p-{n}"}
                        ],
                        "name": [{"family": f"Doctor{n}", "given": ["Mikko"]}],
                    },
                    f"urn:uuid:prac-{n}",
                )
            )
        first_schedule = len(entries)
        for n in range(schedules):
            entries.append(
                _post(
                    {
                        "resourceType": "Schedule",
                        "active": True,
                        "actor": [
                            {"reference": f"urn:uuid:prac-{n}"},
                            {"reference": locations[n % len(locations)]},
                        ],
                        "serviceType": _concept(SERVICE_SYSTEM, f"svc-{specialty_of(n)}"),
                        "specialty": _concept(SNOMED, specialty_of(n)),
                    }
                )
            )
        created = [_created_id(r) for r in self.run(entries)]
        location_ids = [
            created[i]
            for i in range(len(created))
            if i < first_practitioner and i % (LOCATIONS_PER_HOSPITAL + 1)
        ]
        return [
            Schedule(
                created[first_schedule + n],
                created[first_practitioner + n],
                location_ids[n % len(location_ids)],
                specialty_of(n),
            )
            for n in range(schedules)
        ]

    def slots(
        self, resources: Iterator[dict[str, Any]], progress: Callable[[int], None] | None = None
    ) -> list[str]:
        """Writes the Slots, BATCH per transaction; returns their ids in order."""
        ids: list[str] = []
        pending: list[dict[str, Any]] = []
        for resource in resources:
            pending.append(_post(resource))
            if len(pending) == BATCH:
                ids += [_created_id(r) for r in self.run(pending)]
                pending = []
                if progress:
                    progress(len(ids))
        if pending:
            ids += [_created_id(r) for r in self.run(pending)]
        return ids

    def patients(self, count: int, first: int = 0) -> list[str]:
        ids: list[str] = []
        for low in range(first, first + count, BATCH):
            high = min(first + count, low + BATCH)
            ids += [
                _created_id(r)
                for r in self.run([_post(patient_resource(n)) for n in range(low, high)])
            ]
        return ids


def calendar(schedules: list[Schedule], days: int, first_day: int = 0) -> Iterator[dict[str, Any]]:
    """Day by day across every schedule, the order a city publishes its calendar in."""
    for day in range(first_day, first_day + days):
        for n, schedule in enumerate(schedules):
            for index in range(slots_per_day(n, day)):
                yield slot_resource(schedule, slot_start(day, index))


def booking_parameters(slot_id: str, patient_id: str) -> str:
    """The $book body of tests/scheduling/clinic.py, on one line (the wrk script reads lines)."""
    return json.dumps(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "slot", "valueString": f"Slot/{slot_id}"},
                {"name": "patient-id", "valueString": f"Patient/{patient_id}"},
            ],
        },
        separators=(",", ":"),
    )


class Progress:
    """Prints how far a long seeding has got, at most every 30 s."""

    def __init__(self, total: int, label: str):
        self.total, self.label = total, label
        self.started = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last >= 30:
            self.last = now
            rate = done / (now - self.started)
            print(
                f"    {self.label}: {done:,}/{self.total:,} in {now - self.started:.0f} s "
                f"({rate:,.0f}/s)",
                flush=True,
            )
