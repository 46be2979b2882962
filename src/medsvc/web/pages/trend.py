"""A measurement's trend: the citizen's own values of one test over time, or a patient's as
their doctor reads them under the care relationship, as a chart and a table."""

import re

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web import display, trend
from medsvc.web.errors import PageError
from medsvc.web.person import Person, signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import page

POINTS = 20  # the latest values drawn
# One token, system|code, as a report's row links it: no list (","), no escapes ("\\") and no
# modifier syntax, so that what reaches the search is exactly one code.
CODE = re.compile(r"[^|\s,\\$]{0,200}\|[^|\s,\\$]{1,64}")


async def _trend(request: Request, person: Person, patient: str, back: str) -> Response:
    code = request.query_params.get("code", "")
    if not CODE.fullmatch(code):
        raise PageError(404, "not-found")
    params = {"patient": patient, "code": code, "_sort": "-date", "_count": str(POINTS)}
    values = trend.measured(display.matches(await fhir_json(person, "Observation", params)))
    if not values:
        raise PageError(404, "not-found")
    latest = values[-1].row
    return page(
        request,
        "trend.html",
        person=person,
        values=values,
        chart=trend.chart(values),
        name=latest.name,
        unit=latest.unit,
        back=back,
    )


async def own_trend(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    return await _trend(request, person, person.fhir_user, "/app/results")


async def patient_trend(request: Request) -> Response:
    person = await signed_in_as(request, "Practitioner")
    patient_id = str(request.path_params["patient_id"])
    if not display.FHIR_ID.fullmatch(patient_id):
        raise PageError(404, "not-found")
    back = f"/app/patients/{patient_id}/results"
    return await _trend(request, person, f"Patient/{patient_id}", back)
