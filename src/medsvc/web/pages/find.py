"""Finding care: hospitals and a search by name, a hospital's departments and doctors with
their free times in the next two weeks, and a doctor's free times by day."""

from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from medsvc import clock
from medsvc.web import directory, display, offers
from medsvc.web.errors import PageError
from medsvc.web.person import signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import formats_for, page

MOST_LISTED = 100
MAX_QUERY = 50  # characters of a name search


def _window() -> tuple[datetime, datetime]:
    start = clock.now()
    return start, start + timedelta(days=directory.WINDOW_DAYS)


async def find_care(request: Request) -> Response:
    """Hospitals, and doctors and hospitals whose name holds what was typed."""
    person = await signed_in_as(request, "Patient")
    typed = request.query_params.get("q", "").strip()[:MAX_QUERY]
    hospitals_params = {"_count": str(MOST_LISTED)}
    if typed:
        hospitals_params["name:contains"] = typed
    bundle = await fhir_json(person, "Organization", hospitals_params)
    hospitals = sorted(
        ((str(o.get("id")), display.resource_name(o)) for o in display.matches(bundle)),
        key=lambda pair: pair[1],
    )
    doctors: list[tuple[str, str]] = []
    if typed:
        found = await fhir_json(
            person, "Practitioner", {"name:contains": typed, "_count": str(MOST_LISTED)}
        )
        doctors = [(str(p.get("id")), display.resource_name(p)) for p in display.matches(found)]
    return page(
        request, "find.html", person=person, typed=typed, hospitals=hospitals, doctors=doctors
    )


def _id(request: Request, name: str) -> str:
    found = str(request.path_params[name])
    if not display.FHIR_ID.fullmatch(found):
        raise PageError(404, "not-found")
    return found


async def hospital(request: Request) -> Response:
    """A hospital's departments (the specialty of each doctor's role there) and their doctors,
    from the directory: one search, whatever the number of free times, each doctor linking to
    their free times by day."""
    person = await signed_in_as(request, "Patient")
    organization = f"Organization/{_id(request, 'organization_id')}"
    name = await directory.names(person, "Organization", {organization})
    if not name:
        raise PageError(404, "not-found")
    roles = await fhir_json(
        person,
        "PractitionerRole",
        {
            "organization": organization,
            "_include": "PractitionerRole:practitioner",
            "_count": str(directory.MOST_OFFERED),
        },
    )
    return page(
        request,
        "hospital.html",
        person=person,
        name=name[organization],
        departments=directory.departments(roles),
        more=display.has_next(roles),
    )


async def doctor(request: Request) -> Response:
    """A doctor's free times in the window, by local day, each a button that holds it."""
    person = await signed_in_as(request, "Patient")
    practitioner = _id(request, "practitioner_id")
    reference = f"Practitioner/{practitioner}"
    name = await directory.names(person, "Practitioner", {reference})
    if not name:
        raise PageError(404, "not-found")
    start, end = _window()
    times = await directory.find(person, start, end, practitioner=reference)
    formats = formats_for(request)
    return page(
        request,
        "doctor_times.html",
        person=person,
        name=name[reference],
        practitioner=practitioner,
        days=offers.offered(times, formats),
        zone=offers.zone_of(times, formats),
        formats=formats,
    )
