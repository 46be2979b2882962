"""Who may act for the person whose record the app shows: the RelatedPersons of their record
that are proxies in force, and ending one (an adult's proxy, by the patient or the proxy; a
guardian's, by the guardian), which the API checks and which signs the proxy out."""

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc import clock
from medsvc.web import display, forms
from medsvc.web.errors import PageError
from medsvc.web.pages.book import see
from medsvc.web.person import signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import page

V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
PROXY_KIND = "urn:medsvc:proxy-kind"


def _code(resource: dict[str, Any], system: str) -> str:
    for concept in resource.get("relationship") or []:
        for coding in (concept or {}).get("coding") or []:
            if isinstance(coding, dict) and coding.get("system") == system:
                return str(coding.get("code", ""))
    return ""


def row(resource: dict[str, Any]) -> dict[str, str]:
    end = str((resource.get("period") or {}).get("end", ""))[:10]
    return {
        "id": str(resource.get("id", "")),
        "name": display.human_name(resource.get("name")),
        "relationship": _code(resource, V3_ROLE),
        "kind": _code(resource, PROXY_KIND),
        "until": end,
    }


async def proxies_page(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    bundle = await fhir_json(
        person, "RelatedPerson", {"patient": person.id, "active": "true", "_count": "50"}
    )
    rows = [row(r) for r in display.matches(bundle)]
    ended = request.query_params.get("ended") == "1"
    child_age = request.app.state.settings.proxy_child_age
    values = {"proxies": rows, "ended": ended, "child_age": child_age}
    return page(request, "proxies.html", person=person, **values)


async def end_proxy(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    path = f"RelatedPerson/{request.path_params['proxy_id']}"
    response = await person.api.fhir("GET", path, person.token)
    if response.status_code != 200:
        raise PageError(404, "not-found")
    resource = response.json()
    now = datetime.fromtimestamp(clock.now().timestamp(), UTC).isoformat()
    resource["active"] = False
    resource["period"] = {**(resource.get("period") or {}), "end": now}
    headers = {"Content-Type": "application/fhir+json", "If-Match": response.headers["etag"]}
    done = await person.api.fhir("PUT", path, person.token, headers=headers, json=resource)
    if done.status_code == 403:
        return page(request, "refused.html", 403, person=person)
    if done.status_code != 200:
        raise PageError(503, "unavailable")
    return see("/app/proxies?ended=1")


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
