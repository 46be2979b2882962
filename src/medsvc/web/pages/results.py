"""Results: a citizen's list of their reports (newest first, unread ones marked "new"), a
doctor's list of a patient's, a report with its observations, and the report's PDF. What the
API does not let the person see (not released to a citizen; a patient not in a doctor's
care) is not in its answers, so the app never shows it."""

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc import clock
from medsvc.kit.executors import in_thread, small_read
from medsvc.web import display, seen
from medsvc.web.errors import PageError
from medsvc.web.person import Person, signed_in_as
from medsvc.web.reads import fhir_json
from medsvc.web.render import page
from medsvc.web.results_view import observation_row, report_line

LISTED = 50
BINARY_REFERENCE = re.compile(r"(?:.*/)?Binary/([A-Za-z0-9\-.]{1,64})")


def _seen_among(request: Request, person: Person, resources: list[str]) -> set[str]:
    with request.app.state.database.session(write=False) as connection:
        return seen.seen_among(connection, person.fhir_user, resources)


def _mark_seen(request: Request, person: Person, resource: str) -> None:
    with request.app.state.database.session(write=True) as connection:
        seen.mark_seen(connection, person.fhir_user, resource, clock.now())


async def _listed(request: Request, person: Person, patient: str) -> Response:
    params = {
        "patient": patient,
        "_sort": "-date",
        "_count": str(LISTED),
        "_include": "DiagnosticReport:performer",
    }
    bundle = await fhir_json(person, "DiagnosticReport", params)
    reports = display.matches(bundle)
    keys = [f"DiagnosticReport/{r.get('id')}" for r in reports]
    opened = (
        await small_read(request, _seen_among, request, person, keys)
        if person.kind == "Patient"
        else set(keys)  # "new" is the citizen's alone
    )
    others = display.included(bundle)
    lines = [report_line(r, others, opened) for r in reports]
    waiting = await _waiting(person) if person.kind == "Patient" else {}
    return page(
        request, "results.html", person=person, lines=lines, patient=patient, waiting=waiting
    )


async def _waiting(person: Person) -> dict[str, Any]:
    """How many of the citizen's results are not released yet ($waiting-results): told, not
    shown. Without an answer the list is shown without it."""
    response = await person.api.fhir("GET", f"{person.fhir_user}/$waiting-results", person.token)
    if response.status_code != 200:
        return {}
    return {
        str(p.get("name")): next((v for k, v in p.items() if k.startswith("value")), None)
        for p in response.json().get("parameter") or []
        if isinstance(p, dict)
    }


async def results_list(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    return await _listed(request, person, person.fhir_user)


async def patient_results(request: Request) -> Response:
    """A doctor's list of a patient's reports: the API answers under the care relationship."""
    person = await signed_in_as(request, "Practitioner")
    patient_id = str(request.path_params["patient_id"])
    if not display.FHIR_ID.fullmatch(patient_id):
        raise PageError(404, "not-found")
    return await _listed(request, person, f"Patient/{patient_id}")


def _report_id(request: Request) -> str:
    report_id = str(request.path_params["report_id"])
    if not display.FHIR_ID.fullmatch(report_id):
        raise PageError(404, "not-found")
    return report_id


Resource = dict[str, Any]


async def _report(person: Person, report_id: str) -> tuple[Resource, dict[str, Resource]]:
    params: dict[str, str | list[str]] = {
        "_id": report_id,
        "_include": ["DiagnosticReport:result", "DiagnosticReport:performer"],
        "_revinclude": "DocumentReference:related",  # its PDF, when it has one
    }
    bundle = await fhir_json(person, "DiagnosticReport", params)
    found = display.matches(bundle)
    if not found:
        raise PageError(404, "not-found")
    return found[0], display.included(bundle)


async def report_page(request: Request) -> Response:
    person = await signed_in_as(request, "Patient", "Practitioner")
    report_id = _report_id(request)
    report, others = await _report(person, report_id)
    listed = [str((r or {}).get("reference", "")) for r in report.get("result") or []]
    rows = [observation_row(others[key]) for key in listed if key in others]
    if person.kind == "Patient":  # "new" is the citizen's: a doctor's reading changes nothing
        key = f"DiagnosticReport/{report_id}"
        # Read first: a report opened before needs no write (nor, on SQLite, the writer).
        if not await small_read(request, _seen_among, request, person, [key]):
            await in_thread(request, "write", _mark_seen, request, person, key)
    line = report_line(report, others, {f"DiagnosticReport/{report_id}"})
    conclusion = report.get("conclusion") if isinstance(report.get("conclusion"), str) else ""
    return page(
        request,
        "report.html",
        person=person,
        line=line,
        rows=rows,
        conclusion=conclusion,
        trend_base=_trend_base(person, report),
        has_pdf=any(key.startswith("DocumentReference/") for key in others),
    )


def _trend_base(person: Person, report: Resource) -> str:
    """Where a row's trend is: the citizen's own, or this report's patient's for a doctor."""
    if person.kind == "Patient":
        return "/app/trend"
    subject = str((report.get("subject") or {}).get("reference", ""))
    kind, _, patient_id = subject.partition("/")
    if kind != "Patient" or not display.FHIR_ID.fullmatch(patient_id):
        return ""
    return f"/app/patients/{patient_id}/trend"


async def report_pdf(request: Request) -> Response:
    """The report's PDF (the DocumentReference naming it in context.related), downloaded:
    never drawn in the app's origin."""
    person = await signed_in_as(request, "Patient", "Practitioner")
    report_id = _report_id(request)
    params = {"related": f"DiagnosticReport/{report_id}", "_count": "1"}
    documents = display.matches(await fhir_json(person, "DocumentReference", params))
    content = (documents[0].get("content") or [{}]) if documents else [{}]
    url = str(((content[0] or {}).get("attachment") or {}).get("url", ""))
    binary = BINARY_REFERENCE.fullmatch(url)
    if binary is None:
        raise PageError(404, "not-found")
    response = await person.api.fhir(
        "GET", f"Binary/{binary.group(1)}", person.token, headers={"Accept": "application/pdf"}
    )
    if response.status_code != 200 or response.headers.get("content-type") != "application/pdf":
        raise PageError(404, "not-found")
    headers = {
        "Content-Disposition": f'attachment; filename="report-{report_id}.pdf"',
        "Content-Security-Policy": "sandbox",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(response.content, media_type="application/pdf", headers=headers)
