"""Who may act for whom: a parent or guardian for a child (until the child's birthday of the
configured age), an adult for another adult who consented. Each proxy's FHIR face is a
RelatedPerson of the patient with its relationship and period; it ends with that period or
when revoked, and every grant that acted under it is revoked with it."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, insert, or_, select, update
from sqlmodel import col

from medsvc.access.tables import Proxy
from medsvc.clock import utc
from medsvc.config import Settings
from medsvc.fhir import FhirServer, interactions, jsonio, read_current
from medsvc.security import grants
from medsvc.security.context import platform_context

GUARDIAN, CONSENTED = "guardian", "consented"
KINDS = (GUARDIAN, CONSENTED)
V3_ROLE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
# The kind of proxy, as a second relationship concept: apps tell a guardian's from an adult's.
PROXY_KIND = "urn:medsvc:proxy-kind"
# HL7 v3 RoleCode (the RelatedPerson.relationship binding): who may be whose proxy.
RELATIONSHIPS = {
    GUARDIAN: {"MTH": "mother", "FTH": "father", "PRN": "parent", "GUARD": "guardian"},
    CONSENTED: {
        "CHILD": "child",
        "SPS": "spouse",
        "SIB": "sibling",
        "PRN": "parent",
        "FAMMEMB": "family member",
        "FRND": "friend",
    },
}
ESTABLISHED_BY = ("operator", "hospital", "provider", "consent")


@dataclass(frozen=True)
class ChildAge:
    """Until which birthday a parent or guardian acts for a child, and the time zone in which
    that birthday begins (the city's)."""

    years: int
    zone: tzinfo = UTC

    @classmethod
    def of(cls, settings: Settings) -> "ChildAge":
        return cls(settings.proxy_child_age, ZoneInfo(settings.timezone))


class ProxyRefused(ValueError):
    """A proxy the service will not record; the message says why, in English."""


@dataclass(frozen=True)
class NewProxy:
    patient_id: str
    proxy_patient_id: str
    relationship: str
    kind: str
    established_by: str
    ends_at: datetime | None = None  # for a consented adult's proxy; a child's is computed


def _patient(session: Connection, patient_id: str) -> dict[str, Any]:
    current = read_current(session, None, "Patient", patient_id)  # never sealed
    if current is None or current.content is None:
        raise ProxyRefused(f"Patient/{patient_id} is not a patient on this server")
    return dict(jsonio.loads_stored(current.content))


def _birthday(born: date, child_age: ChildAge) -> datetime:
    """The local midnight that begins the birthday (1 March for a child born on 29 February,
    in a year without it)."""
    age = child_age.years
    day = (
        born.replace(year=born.year + age)
        if (born.month, born.day) != (2, 29)
        else date(born.year + age, 3, 1)
    )
    return datetime.combine(day, time(), child_age.zone).astimezone(UTC)


def guardian_end(child: dict[str, Any], child_age: ChildAge, now: datetime) -> datetime:
    """A child's proxy ends on their birthday of child_age; none for a child that age."""
    try:
        born = date.fromisoformat(str(child.get("birthDate", "")))
    except ValueError:
        raise ProxyRefused("a guardian's proxy needs the child's full birth date") from None
    ends = _birthday(born, child_age)
    if ends <= now:
        raise ProxyRefused(
            f"the patient is {child_age.years} or older: an adult's proxy needs consent"
        )
    return ends


def _require_adult(patient: dict[str, Any], child_age: ChildAge, now: datetime) -> None:
    """An adult's consent is theirs to give: a child's proxy is a guardian's."""
    try:
        guardian_end(patient, child_age, now)
    except ProxyRefused:
        return  # that age or older, or no full birth date known: taken as an adult
    raise ProxyRefused(f"the patient is under {child_age.years}: a child's proxy is a guardian's")


def _check(proposal: NewProxy) -> None:
    if proposal.kind not in KINDS:
        raise ProxyRefused(f"kind is one of {', '.join(KINDS)}")
    if proposal.relationship not in RELATIONSHIPS[proposal.kind]:
        codes = ", ".join(RELATIONSHIPS[proposal.kind])
        raise ProxyRefused(f"a {proposal.kind} proxy's relationship is one of {codes}")
    if proposal.established_by not in ESTABLISHED_BY:
        raise ProxyRefused(f"established_by is one of {', '.join(ESTABLISHED_BY)}")
    if proposal.patient_id == proposal.proxy_patient_id:
        raise ProxyRefused("a person does not act for themselves through a proxy")


def relationship_code(related_person: dict[str, Any]) -> str:
    """The RelatedPerson's relationship as HL7 v3 RoleCode ("" when it has none)."""
    for concept in related_person.get("relationship") or []:
        for coding in (concept or {}).get("coding") or [] if isinstance(concept, dict) else []:
            if isinstance(coding, dict) and coding.get("system") == V3_ROLE:
                return str(coding.get("code", ""))
    return ""


def _related_person(
    proposal: NewProxy, proxy: dict[str, Any], starts: datetime, ends: datetime | None
) -> dict[str, Any]:
    period = {"start": starts.isoformat()} | ({"end": ends.isoformat()} if ends else {})
    coding = {"system": V3_ROLE, "code": proposal.relationship}
    return {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": {"reference": f"Patient/{proposal.patient_id}"},
        "relationship": [
            {"coding": [coding]},
            {"coding": [{"system": PROXY_KIND, "code": proposal.kind}]},
        ],
        "name": proxy.get("name") or [],
        "telecom": proxy.get("telecom") or [],
        "period": period,
    }


def add(
    session: Connection, server: FhirServer, proposal: NewProxy, child_age: ChildAge, now: datetime
) -> Proxy:
    """Records the proxy and its RelatedPerson in the caller's unit of work."""
    _check(proposal)
    patient = _patient(session, proposal.patient_id)
    proxy = _patient(session, proposal.proxy_patient_id)
    ends: datetime | None
    if proposal.kind == GUARDIAN:
        ends = guardian_end(patient, child_age, now)
    else:
        _require_adult(patient, child_age, now)
        ends = proposal.ends_at
    if ends is not None and ends <= now:
        raise ProxyRefused("the proxy would end before it starts")
    if any(
        p.patient_id == proposal.patient_id
        for p in live_for(session, proposal.proxy_patient_id, now)
    ):
        raise ProxyRefused("the person already acts for that patient")
    related = interactions.create(
        server,
        session,
        platform_context("proxies"),
        "RelatedPerson",
        _related_person(proposal, proxy, now, ends),
    )
    assert related.stored is not None  # a create stores a version
    row = Proxy(
        id=related.stored.id,  # one id: the proxy is its RelatedPerson
        patient_id=proposal.patient_id,
        proxy_patient_id=proposal.proxy_patient_id,
        related_person_id=related.stored.id,
        relationship=proposal.relationship,
        kind=proposal.kind,
        established_by=proposal.established_by,
        starts_at=now,
        ends_at=ends,
        created_at=now,
    )
    session.execute(insert(Proxy).values(**row.model_dump()))
    return row


def _live(now: datetime) -> Any:
    return (
        col(Proxy.revoked_at).is_(None),
        col(Proxy.starts_at) <= now,
        or_(col(Proxy.ends_at).is_(None), col(Proxy.ends_at) > now),
    )


def live_for(session: Connection, proxy_patient_id: str, now: datetime) -> list[Proxy]:
    """The proxies through which the person acts for others now."""
    rows = session.execute(
        select(Proxy).where(col(Proxy.proxy_patient_id) == proxy_patient_id, *_live(now))
    )
    return [Proxy.model_validate(row._mapping) for row in rows]


def live_of(session: Connection, patient_id: str, now: datetime) -> list[Proxy]:
    """The proxies through which others act for the patient now, the oldest first."""
    rows = session.execute(
        select(Proxy)
        .where(col(Proxy.patient_id) == patient_id, *_live(now))
        .order_by(col(Proxy.created_at))
    )
    return [Proxy.model_validate(row._mapping) for row in rows]


def found(session: Connection, proxy_id: str) -> Proxy | None:
    row = session.execute(select(Proxy).where(col(Proxy.id) == proxy_id)).first()
    return Proxy.model_validate(row._mapping) if row else None


def listed(
    session: Connection, patient_id: str | None, proxy_patient_id: str | None
) -> list[Proxy]:
    query = select(Proxy).order_by(col(Proxy.created_at))
    if patient_id:
        query = query.where(col(Proxy.patient_id) == patient_id)
    if proxy_patient_id:
        query = query.where(col(Proxy.proxy_patient_id) == proxy_patient_id)
    return [Proxy.model_validate(row._mapping) for row in session.execute(query)]


def _end_related_person(
    session: Connection, server: FhirServer, proxy: Proxy, now: datetime
) -> None:
    current = read_current(session, None, "RelatedPerson", proxy.related_person_id)
    if current is None or current.content is None:
        return
    resource = dict(jsonio.loads_stored(current.content))
    resource["active"] = False
    resource["period"] = {**resource.get("period", {}), "end": now.isoformat()}
    interactions.update(
        server,
        session,
        platform_context("proxies"),
        "RelatedPerson",
        proxy.related_person_id,
        resource,
    )


def end(session: Connection, proxy: Proxy, now: datetime) -> int:
    """Ends the proxy now (its RelatedPerson already ended): every grant that acted under it
    is revoked, its tokens refused once each process re-read the revoked grants (at most a
    second). Returns how many grants."""
    session.execute(update(Proxy).where(col(Proxy.id) == proxy.id).values(revoked_at=now))
    return grants.revoke_acting_grants(session, proxy.id, now)


def revoke(session: Connection, server: FhirServer, proxy: Proxy, now: datetime) -> int:
    """Ends the proxy and its RelatedPerson now (an operator's revoke); returns how many
    grants were revoked."""
    revoked = end(session, proxy, now)  # first: the RelatedPerson's own end finds it ended
    _end_related_person(session, server, proxy, now)
    return revoked


def end_expired(server: FhirServer, session: Connection, now: datetime) -> int:
    """The end-proxies job: proxies whose period ended (a child's birthday) lose the grants
    that acted under them, once."""
    ended = session.execute(
        select(Proxy)
        .where(
            col(Proxy.ends_at) <= now,
            col(Proxy.grants_ended_at).is_(None),
            col(Proxy.revoked_at).is_(None),
        )
        .limit(BATCH)
    ).all()
    for row in ended:
        proxy = Proxy.model_validate(row._mapping)
        grants.revoke_acting_grants(session, proxy.id, now)
        _end_related_person(session, server, proxy, now)
        session.execute(update(Proxy).where(col(Proxy.id) == proxy.id).values(grants_ended_at=now))
    return len(ended)


BATCH = 100


def summary(proxy: Proxy) -> dict[str, Any]:
    """A proxy as an operator or a page sees it."""
    return {
        "id": proxy.id,
        "patient": f"Patient/{proxy.patient_id}",
        "proxy": f"Patient/{proxy.proxy_patient_id}",
        "relatedPerson": f"RelatedPerson/{proxy.related_person_id}",
        "relationship": proxy.relationship,
        "kind": proxy.kind,
        "established_by": proxy.established_by,
        "starts": utc(proxy.starts_at).isoformat(),
        "ends": utc(proxy.ends_at).isoformat() if proxy.ends_at else None,
        "revoked": utc(proxy.revoked_at).isoformat() if proxy.revoked_at else None,
    }
