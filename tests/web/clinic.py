"""The signed-in doctor's clinic for the app's tests: a hospital where Dr Wang (the account
"dr-wang") has a schedule, and bookings of citizens in it on a given day."""

from datetime import datetime, timedelta

import httpx

from medsvc import clock
from tests.factories import schedule
from tests.scheduling.clinic import (
    CARDIOLOGY,
    Open,
    add_slots,
    booked,
    citizen_context,
    created,
    parameters,
)


def doctors_schedule(client: httpx.Client, doctor: str, hospital: str = "北区医院") -> str:
    organization = created(client, {"resourceType": "Organization", "name": hospital})
    place = {
        "resourceType": "Location",
        "name": f"{hospital} 门诊楼",
        "managingOrganization": {"reference": f"Organization/{organization}"},
    }
    location = created(client, place)
    role = {
        "resourceType": "PractitionerRole",
        "practitioner": {"reference": f"Practitioner/{doctor}"},
        "organization": {"reference": f"Organization/{organization}"},
        "specialty": [{**CARDIOLOGY, "text": "心内科"}],
    }
    created(client, role)
    resource = schedule(f"Practitioner/{doctor}")
    resource["actor"].append({"reference": f"Location/{location}"})
    resource["serviceType"] = [CARDIOLOGY]
    return created(client, resource)


def day_after_tomorrow() -> datetime:
    """A day the tests book on: 09:00 UTC two days on, bookable and not yet started."""
    return (clock.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)


def book_visits(
    client: httpx.Client, acting_as: Open, schedule_id: str, patients: list[str], first: datetime
) -> list[str]:
    """One booked appointment per patient, in consecutive slots from first; their ids."""
    slots = add_slots(client, schedule_id, len(patients), first=first)
    made = []
    for patient, slot in zip(patients, slots, strict=True):
        citizen = acting_as(citizen_context(patient))
        made.append(
            booked(citizen.post("/Appointment/$book", json=parameters(slot=f"Slot/{slot}")))["id"]
        )
    return made
