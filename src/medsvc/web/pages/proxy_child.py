"""A parent adds their child from the app: the child's name, resident identity number and
what the parent is to them, confirmed by the city's verification provider (the API's
Patient/$proxy-child); what it refuses said on the page in the parent's language."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web import forms
from medsvc.web.errors import PageError
from medsvc.web.person import Person, signed_in_as
from medsvc.web.render import page

RELATIONSHIPS = ("MTH", "FTH", "GUARD")
# The API's refusals as the page's problems: a field it named, or what the status means.
FIELDS = ("name", "number", "relationship")
REFUSED = {403: "account", 422: "not-confirmed", 429: "busy", 503: "provider-down"}


def _child_page(request: Request, person: Person, status: int = 200, **values: str) -> Response:
    context = {"name": "", "number": "", "relationship": "MTH", "problem": ""} | values
    return page(
        request,
        "proxy_child.html",
        status,
        None,
        person=person,
        relationships=RELATIONSHIPS,
        child_age=request.app.state.settings.proxy_child_age,
        **context,
    )


async def child_page(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    return _child_page(request, person)


def _problem(response: Any) -> str:
    """The field the API named, or what its status means on the page."""
    if response.status_code == 400:
        for issue in response.json().get("issue") or []:
            for expression in issue.get("expression") or []:
                if expression in FIELDS:
                    return str(expression)
        return "number"
    return REFUSED.get(response.status_code, "")


async def add_child(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    typed = {
        "name": form.get("name", "")[:64],
        "number": form.get("number", "").replace(" ", "")[:24],
        "relationship": form.get("relationship", ""),
    }
    if typed["relationship"] not in RELATIONSHIPS:
        return _child_page(request, person, 422, problem="relationship", **typed)
    parameters = [{"name": k, "valueString": v} for k, v in typed.items()]
    response = await person.api.fhir(
        "POST",
        "Patient/$proxy-child",
        person.token,
        headers={"Content-Type": "application/fhir+json"},
        json={"resourceType": "Parameters", "parameter": parameters},
    )
    if response.status_code == 200:
        return page(request, "proxy_added.html", person=person)
    problem = _problem(response)
    if not problem:
        raise PageError(503, "unavailable")
    status = 422 if response.status_code == 400 else response.status_code
    return _child_page(request, person, status, problem=problem, **typed)
