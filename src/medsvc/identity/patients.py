"""The Patient a new account belongs to: the one hospitals registered with the same identity
document, when the details prove it is the same person, else a new Patient made from what the
person typed and what their document says."""

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from medsvc.fhir import FhirServer, index, interactions, jsonio
from medsvc.identity import verification
from medsvc.identity.documents import PASSPORT, RESIDENT, Document
from medsvc.security import phones
from medsvc.security.context import platform_context

# HL7 v2 table 0203: the kind of identifier, so a reader knows which document it is.
IDENTIFIER_TYPES = {RESIDENT: "NNCHN", PASSPORT: "PPN"}
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
BCP_47 = "urn:ietf:bcp:47"


class RecordDiffers(Exception):
    """A hospital registered the document for a person whose details do not match."""


@dataclass(frozen=True)
class Applicant:
    name: str
    document: Document
    phone: str  # E.164
    language: str  # BCP 47: the app's language when the person signed up


def identifier_system(document: Document, resident_system: str) -> str:
    if document.kind == RESIDENT:
        return resident_system
    return f"urn:medsvc:identifier:passport:{document.country}"


def folded(name: str) -> str:
    """A name as compared: one Unicode form, no spaces (Chinese names have none), any case."""
    return "".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _names(patient: dict[str, Any]) -> set[str]:
    found = set()
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        given = "".join(g for g in name.get("given") or [] if isinstance(g, str))
        family = name["family"] if isinstance(name.get("family"), str) else ""
        found |= {folded(family + given), folded(given + family)}
        if isinstance(name.get("text"), str):
            found.add(folded(name["text"]))
    return found - {""}


def _phones(patient: dict[str, Any]) -> set[str]:
    """The record's mobile numbers in E.164, however the hospital spelled them."""
    found = set()
    for telecom in patient.get("telecom") or []:
        if isinstance(telecom, dict) and telecom.get("system") in ("sms", "phone"):
            try:
                found.add(phones.e164(str(telecom.get("value", ""))))
            except phones.BadPhone:
                continue  # a landline, an extension: no code could have gone to it
    return found


def registered(session: Connection, system: str, number: str) -> list[tuple[str, dict[str, Any]]]:
    """The live Patients whose identifier is the document's (normally none or one)."""
    pks = index.coded("Patient", "identifier", [f"{system}|{number}"])
    rows = session.execute(
        select(index.RESOURCE.c.id, index.RESOURCE.c.content).where(
            index.RESOURCE.c.pk.in_(pks), index.RESOURCE.c.deleted.is_(False)
        )
    ).all()
    return [(row.id, jsonio.loads_stored(row.content)) for row in rows]


def same_person(patient: dict[str, Any], applicant: Applicant, level: str) -> bool:
    """The registered Patient is the applicant's: the name is the record's, and either a
    provider vouched for name and document, or the record holds the number the code went to."""
    if folded(applicant.name) not in _names(patient):
        return False
    vouched = verification.at_least(level, verification.DOCUMENT_VERIFIED)
    return vouched or applicant.phone in _phones(patient)


def new_patient(applicant: Applicant, system: str) -> dict[str, Any]:
    document = applicant.document
    kind = {"coding": [{"system": V2_0203, "code": IDENTIFIER_TYPES[document.kind]}]}
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [
            {"use": "official", "type": kind, "system": system, "value": document.number}
        ],
        "name": [{"use": "official", "text": applicant.name}],
        "telecom": [{"system": "sms", "value": applicant.phone, "use": "mobile"}]
        if applicant.phone
        else [],
        "communication": [
            {
                "language": {"coding": [{"system": BCP_47, "code": applicant.language}]},
                "preferred": True,
            }
        ],
    }
    if document.birth_date is not None:
        patient["birthDate"] = document.birth_date.isoformat()
    if document.gender is not None:
        patient["gender"] = document.gender
    return patient


def patient_for(
    server: FhirServer, session: Connection, applicant: Applicant, level: str, system: str
) -> tuple[str, bool]:
    """The Patient's id, and whether it was made now. Raises RecordDiffers when a registered
    record's details do not prove it is the applicant's (or two records hold the document)."""
    found = registered(session, system, applicant.document.number)
    if len(found) > 1 or (found and not same_person(found[0][1], applicant, level)):
        raise RecordDiffers(applicant.document.kind)
    if found:
        return found[0][0], False
    created = interactions.create(
        server, session, platform_context("sign-up"), "Patient", new_patient(applicant, system)
    )
    assert created.stored is not None  # a create stores a version
    return created.stored.id, True
