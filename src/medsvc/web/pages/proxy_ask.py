"""Asking to act for another adult from the app: a code sent to their phone (naming who
asks), given back on the next page, and the proxy made (Patient/$proxy-invite and
$proxy-accept)."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web import forms
from medsvc.web.errors import PageError
from medsvc.web.person import signed_in_as
from medsvc.web.render import page

RELATIONSHIPS = ("CHILD", "SPS", "SIB", "PRN", "FAMMEMB", "FRND")


def _parameters(**values: str) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [{"name": k, "valueString": v} for k, v in values.items()],
    }


def _ask_page(request: Request, person: Any, status: int = 200, **values: str) -> Response:
    context = {"phone": "", "relationship": "CHILD", "problem": "", "request_id": ""} | values
    return page(
        request,
        "proxy_ask.html",
        status,
        None,
        person=person,
        relationships=RELATIONSHIPS,
        **context,
    )


async def ask_page(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    return _ask_page(request, person)


async def _call(person: Any, operation: str, **values: str) -> Any:
    return await person.api.fhir(
        "POST",
        f"Patient/${operation}",
        person.token,
        headers={"Content-Type": "application/fhir+json"},
        json=_parameters(**values),
    )


# What the API's refusal of an invitation means on the page: its status and problem.
INVITE_REFUSED = {400: (422, "phone"), 429: (429, "busy")}


async def ask(request: Request) -> Response:
    """Sends the other adult a code; the page then asks for the code they tell the person."""
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    typed = {"phone": form.get("phone", "")[:24], "relationship": form.get("relationship", "")}
    if typed["relationship"] not in RELATIONSHIPS:
        return _ask_page(request, person, 422, phone=typed["phone"], problem="relationship")
    response = await _call(person, "proxy-invite", **typed)
    if response.status_code in INVITE_REFUSED:
        status, problem = INVITE_REFUSED[response.status_code]
        return _ask_page(request, person, status, problem=problem, **typed)
    if response.status_code == 403:  # acting for someone: only for oneself
        return page(request, "refused.html", 403, person=person)
    if response.status_code != 200:
        raise PageError(503, "unavailable")
    request_id = response.json()["parameter"][0]["valueString"]
    return _ask_page(request, person, 200, request_id=request_id, **typed)


async def accept(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    values = {k: form.get(k, "")[:64] for k in ("phone", "relationship", "request_id")}
    response = await _call(
        person,
        "proxy-accept",
        request=values["request_id"],
        code=form.get("code", "")[:12],
        phone=values["phone"],
        relationship=values["relationship"],
    )
    if response.status_code == 422:  # the code is wrong, spent or dead
        return _ask_page(request, person, 422, problem="code", **values)
    if response.status_code == 400:  # no such proxy may be made (already one, a child, ...)
        return _ask_page(request, person, 422, problem="refused", **values)
    if response.status_code != 200:
        raise PageError(503, "unavailable")
    return page(request, "proxy_added.html", person=person)
