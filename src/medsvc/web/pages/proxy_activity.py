"""What the people acting for the person did in their name, for the proxies page: the latest
of the API's Patient/$proxy-activity, each as a row the page words in the person's language,
the same thing done again within a minute (a page's several searches) counted on one row."""

from dataclasses import dataclass, replace
from typing import Any

from medsvc.web import display
from medsvc.web.person import Person

SHOWN = 20
# The interactions and $operations as the page words them (anything else: "used").
ACTIONS = {
    "read": "looked",
    "vread": "looked",
    "history-instance": "looked",
    "search-type": "searched",
    "history-type": "searched",
    "create": "added",
    "update": "changed",
    "patch": "changed",
    "delete": "removed",
}
OPERATIONS = {
    "book": "booked",
    "hold": "held",
    "cancel": "cancelled",
    "find": "searched",
    "everything": "looked",
    "waiting-results": "looked",
}
# What it touched, by the type of resource (anything else: "record").
SUBJECTS = {
    "Appointment": "appointments",
    "Slot": "appointments",
    "DiagnosticReport": "results",
    "Observation": "results",
    "DocumentReference": "results",
    "Binary": "results",
    "Communication": "messages",
    "RelatedPerson": "proxies",
}


@dataclass(frozen=True)
class Activity:
    when: str  # a FHIR instant
    name: str
    action: str  # looked, searched, added, changed, removed, booked, held, cancelled, used
    subject: str  # appointments, results, messages, proxies, record
    refused: bool
    times: int = 1

    def same_as(self, other: "Activity") -> bool:
        """The same person did the same thing to the same part, within the same minute."""
        mine = (self.name, self.action, self.subject, self.refused, self.when[:16])
        return mine == (other.name, other.action, other.subject, other.refused, other.when[:16])


def _counted(activities: list[Activity]) -> list[Activity]:
    rows: list[Activity] = []
    for activity in activities:
        if rows and rows[-1].same_as(activity):
            rows[-1] = replace(rows[-1], times=rows[-1].times + 1)
        else:
            rows.append(activity)
    return rows


def _activity(parts: dict[str, Any]) -> Activity:
    operation = parts.get("operation")
    action = OPERATIONS.get(operation, "used") if operation else None
    return Activity(
        when=str(parts.get("when", "")),
        name=str(parts.get("name", "")),
        action=action or ACTIONS.get(str(parts.get("interaction")), "used"),
        subject=SUBJECTS.get(str(parts.get("type")), "record"),
        refused=parts.get("succeeded") is not True,
    )


def _parts(parameter: dict[str, Any]) -> dict[str, Any]:
    return {
        str(p.get("name")): next((v for k, v in p.items() if k.startswith("value")), None)
        for p in parameter.get("part") or []
        if isinstance(p, dict)
    }


async def recent(person: Person) -> list[Activity] | None:
    """The latest first; None when the API could not say (the page says so)."""
    path = f"Patient/{person.id}/$proxy-activity"
    response = await person.api.fhir("GET", path, person.token, params={"count": str(SHOWN)})
    if response.status_code != 200:
        return None
    body = display.read_json(response.content, person.api.language)
    found = [_activity(_parts(p)) for p in body.get("parameter") or [] if isinstance(p, dict)]
    return _counted(found)
