"""The app's front page: a welcome with the sign-in for a visitor; for a citizen, their coming
appointments; for a doctor, their day."""

from starlette.requests import Request
from starlette.responses import Response

from medsvc import clock
from medsvc.web import display
from medsvc.web.pages.doctor import doctor_day
from medsvc.web.person import Person, signed_in
from medsvc.web.reads import fhir_json
from medsvc.web.render import page

UPCOMING = 50


async def upcoming(person: Person) -> list[display.AppointmentRow]:
    params = {
        "patient": person.fhir_user,
        "date": f"ge{display.instant(clock.now())}",
        "status": "booked,arrived,checked-in",
        "_sort": "date",
        "_include": "Appointment:actor",
        "_count": str(UPCOMING),
    }
    bundle = await fhir_json(person, "Appointment", params)
    others = display.included(bundle)
    return [display.appointment_row(a, others) for a in display.matches(bundle)]


async def home(request: Request) -> Response:
    person = await signed_in(request)
    if person is None:
        return page(request, "welcome.html")
    if person.kind == "Practitioner":
        return await doctor_day(request, person)
    acting_for = None
    if person.acting_for_another:  # whose record this is, said on the first page
        acting_for = display.resource_name(await fhir_json(person, person.fhir_user))
    coming = await upcoming(person)
    return page(request, "home.html", person=person, upcoming=coming, acting_for=acting_for)
