"""Who may act for the person whose record the app shows: the RelatedPersons of their record
that are proxies in force, what they did in the person's name (shown to the person, not to a
proxy), and ending one (an adult's proxy, by the patient or the proxy; a guardian's, by the
guardian), which the API checks and which signs the proxy out."""

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc import clock
from medsvc.web import display, forms
from medsvc.web.errors import PageError
from medsvc.web.pages.book import see
from medsvc.web.pages.proxy_activity import recent
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
    activity = None if person.acting_for_another else await recent(person)
    values = {"proxies": rows, "ended": ended, "child_age": child_age, "activity": activity}
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
