"""A proxy recorded in person at a hospital: the hospital's system writes a RelatedPerson of
the patient, naming the person who will act for them by their identity number (an identifier
in the city's resident identity system) with the relationship and its period; the proxy is
made with it, and ends when the hospital ends it (active false)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from medsvc.access import proxies
from medsvc.access.roles import Role, role_of
from medsvc.access.tables import Proxy
from medsvc.clock import now
from medsvc.errors import Unprocessable
from medsvc.fhir import Stored, WriteEvent, datetimes, index, jsonio, read_current
from medsvc.security.context import AuthContext


class HospitalProxies:
    def __init__(self, resident_system: str, child_age: proxies.ChildAge):
        self.resident_system = resident_system
        self.child_age = child_age

    def _proxy_patient(self, session: Connection, resource: dict[str, Any]) -> str:
        numbers = [
            i.get("value")
            for i in resource.get("identifier") or []
            if isinstance(i, dict) and i.get("system") == self.resident_system
        ]
        if len(numbers) != 1 or not isinstance(numbers[0], str):
            raise Unprocessable(
                "A proxy recorded by a hospital names the person who acts by one identifier "
                f"in {self.resident_system}",
                expression="RelatedPerson.identifier",
            )
        pks = index.coded("Patient", "identifier", [f"{self.resident_system}|{numbers[0]}"])
        query = select(index.RESOURCE.c.id).where(
            index.RESOURCE.c.pk.in_(pks), index.RESOURCE.c.deleted.is_(False)
        )
        found = list(session.execute(query).scalars())
        if len(found) != 1:
            raise Unprocessable(
                "The identifier names no registered citizen (or several): the person who acts "
                "is registered first",
                expression="RelatedPerson.identifier",
            )
        return str(found[0])

    def _kind_and_end(
        self, session: Connection, patient_id: str, relationship: str, ends: datetime | None
    ) -> tuple[str, datetime | None]:
        current = read_current(session, None, "Patient", patient_id)
        patient = jsonio.loads_stored(current.content) if current and current.content else {}
        if relationship in proxies.RELATIONSHIPS[proxies.GUARDIAN]:
            try:
                end = proxies.guardian_end(patient, self.child_age, now())
            except proxies.ProxyRefused:
                end = None  # an adult's parent: a consented proxy, in person
            if end is not None:
                return proxies.GUARDIAN, min(end, ends) if ends else end
        if relationship not in proxies.RELATIONSHIPS[proxies.CONSENTED]:
            raise Unprocessable(
                f"The relationship {relationship!r} is no proxy's (HL7 v3 RoleCode)",
                expression="RelatedPerson.relationship",
            )
        return proxies.CONSENTED, ends

    def after_write(
        self, session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        """A hospital's new RelatedPerson with a resident identity number becomes a proxy."""
        if role_of(ctx) is not Role.HOSPITAL or event.interaction != "create":
            return
        resource = event.resource or {}
        if resource.get("active") is False:
            return
        patient_id = str((resource.get("patient") or {}).get("reference", "")).removeprefix(
            "Patient/"
        )
        proxy_patient = self._proxy_patient(session, resource)
        relationship = proxies.relationship_code(resource)
        period = resource.get("period") or {}
        ends = datetimes.parse_instant(period["end"]) if period.get("end") else None
        if proxy_patient == patient_id or any(
            p.patient_id == patient_id for p in proxies.live_for(session, proxy_patient, now())
        ):
            raise Unprocessable(
                "The person already acts for that patient, or is the patient",
                expression="RelatedPerson.identifier",
            )
        kind, end = self._kind_and_end(session, patient_id, relationship, ends)
        row = Proxy(
            id=stored.id,
            patient_id=patient_id,
            proxy_patient_id=proxy_patient,
            related_person_id=stored.id,
            relationship=relationship,
            kind=kind,
            established_by="hospital",
            starts_at=now(),
            ends_at=end,
            created_at=now(),
        )
        session.execute(insert(Proxy).values(**row.model_dump()))
