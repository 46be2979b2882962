"""The language a citizen's notices are written in: the one their Patient.communication
prefers, among the languages the notices have, else the deployment's default."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from medsvc.fhir import jsonio, read_current

DEFAULT = "zh_Hans_CN"  # the city's citizens read Simplified Chinese first
LOCALES = (DEFAULT, "en")
# BCP 47 primary language subtags, and the locale whose texts a reader of it gets: any
# Chinese is written in Simplified Chinese, the only Chinese the notices have.
BY_LANGUAGE = {"zh": DEFAULT, "en": "en"}
# The language of a text, as FHIR's Resource.language gives it (BCP 47).
TAGS = {DEFAULT: "zh-CN", "en": "en"}
BCP_47 = "urn:ietf:bcp:47"


def recipient_locale(session: Connection, patient_id: str) -> str:
    """The locale of the notices to a patient: the first of their Patient.communication
    languages (the preferred one first, then in their order) that the notices are written
    in, else DEFAULT. A communication that is not as FHIR describes it is passed over."""
    current = read_current(session, None, "Patient", patient_id)  # never sealed
    if current is None or current.content is None:
        return DEFAULT
    patient = jsonio.loads_stored(current.content)
    for code in _language_codes(patient.get("communication")):
        locale = BY_LANGUAGE.get(code.split("-", 1)[0].lower())
        if locale is not None:
            return locale
    return DEFAULT


def _language_codes(communication: Any) -> Iterator[str]:
    """The BCP 47 codes of the languages, the preferred one's first."""
    if not isinstance(communication, list):
        return
    entries = [c for c in communication if isinstance(c, dict)]
    ranked = [c for c in entries if c.get("preferred") is True]
    ranked += [c for c in entries if c.get("preferred") is not True]
    for entry in ranked:
        language = entry.get("language")
        coding = language.get("coding") if isinstance(language, dict) else None
        for each in coding if isinstance(coding, list) else []:
            if not isinstance(each, dict) or each.get("system", BCP_47) != BCP_47:
                continue
            if isinstance(each.get("code"), str):
                yield each["code"]
