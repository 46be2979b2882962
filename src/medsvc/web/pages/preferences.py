"""A citizen's settings for notices: the language the service writes to them in and the mobile
number its messages go to, kept in their own Patient record (Patient.communication and an
"sms" telecom), which the API lets a citizen change; the app's language follows."""

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from medsvc.web import forms, i18n
from medsvc.web.errors import PageError
from medsvc.web.pages.book import see
from medsvc.web.pages.language import remember
from medsvc.web.person import Person, signed_in_as
from medsvc.web.render import page

LANGUAGE_SYSTEM = "urn:ietf:bcp:47"
LANGUAGES = {"zh": "zh-CN", "en": "en"}  # the app's short codes, as BCP 47 tags
# A mainland mobile number (11 digits from 1[3-9]), or an international one in E.164.
MOBILE = re.compile(r"1[3-9]\d{9}|\+[1-9]\d{6,14}")
Resource = dict[str, Any]


def preferred_language(patient: Resource) -> str:
    """The app's code of the Patient's preferred language, or "" when none is set."""
    entries = [c for c in patient.get("communication") or [] if isinstance(c, dict)]
    entries.sort(key=lambda c: c.get("preferred") is not True)
    for entry in entries:
        for coding in (entry.get("language") or {}).get("coding") or []:
            code = str((coding or {}).get("code", "")).lower()
            if code.split("-", 1)[0] in LANGUAGES:
                return code.split("-", 1)[0]
    return ""


def mobile_number(patient: Resource) -> str:
    for point in patient.get("telecom") or []:
        if (
            isinstance(point, dict)
            and point.get("system") == "sms"
            and "end" not in (point.get("period") or {})
        ):
            return str(point.get("value", ""))
    return ""


def with_settings(patient: Resource, language: str, mobile: str) -> Resource:
    """The Patient with its preferred language and notices' number replaced, the rest kept."""
    tag = LANGUAGES[language]
    others = [
        {k: v for k, v in entry.items() if k != "preferred"}
        for entry in patient.get("communication") or []
        if isinstance(entry, dict) and preferred_language({"communication": [entry]}) != language
    ]
    chosen = {
        "language": {"coding": [{"system": LANGUAGE_SYSTEM, "code": tag}], "text": tag},
        "preferred": True,
    }
    telecom = [p for p in patient.get("telecom") or [] if (p or {}).get("system") != "sms"]
    if mobile:
        telecom.append({"system": "sms", "value": mobile, "use": "mobile"})
    changed = {**patient, "communication": [chosen, *others], "telecom": telecom}
    return {k: v for k, v in changed.items() if v != []}


async def _patient(person: Person) -> tuple[Resource, str]:
    response = await person.api.fhir("GET", person.fhir_user, person.token)
    if response.status_code == 401:
        raise PageError(401, "signed-out")
    if response.status_code != 200:
        raise PageError(404, "not-found")
    return response.json(), response.headers.get("etag", "")


async def settings_page(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    patient, _ = await _patient(person)
    return page(
        request,
        "settings.html",
        person=person,
        language=preferred_language(patient) or i18n.chosen(request)[:2],
        mobile=mobile_number(patient),
        problem="",
        saved=request.query_params.get("saved") == "1",
    )


def _form_again(
    request: Request, person: Person, status: int, problem: str, language: str, mobile: str
) -> Response:
    """The form as it was sent, with what was wrong with it."""
    values = {"language": language, "mobile": mobile, "problem": problem, "saved": False}
    return page(request, "settings.html", status, None, person=person, **values)


async def save_settings(request: Request) -> Response:
    person = await signed_in_as(request, "Patient")
    form = await forms.posted(request, person.session)
    if form is None:
        return page(request, "refused.html", 403, person=person)
    language = form.get("language", "")
    mobile = re.sub(r"[\s-]", "", form.get("mobile", ""))[:20]
    if language not in LANGUAGES or (mobile and not MOBILE.fullmatch(mobile)):
        return _form_again(
            request,
            person,
            422,
            "language" if language not in LANGUAGES else "mobile",
            language or "zh",
            form.get("mobile", "")[:20],
        )
    patient, etag = await _patient(person)
    response = await person.api.fhir(
        "PUT",
        person.fhir_user,
        person.token,
        headers={"Content-Type": "application/fhir+json", "If-Match": etag},
        json=with_settings(patient, language, mobile),
    )
    if response.status_code == 412:  # changed meanwhile (by the hospital): read it again
        return _form_again(request, person, 409, "changed", language, mobile)
    if response.status_code not in (200, 201):
        raise PageError(503, "unavailable")
    saved = see("/app/settings?saved=1")
    remember(request, saved, language)
    return saved
