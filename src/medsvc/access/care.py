"""The care relationship as SQL (docs/security.md): the patients a practitioner cares for now,
and the reports, results and orders that are their own work whoever the patient is."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    BindParameter,
    ColumnElement,
    DateTime,
    FromClause,
    bindparam,
    select,
    union,
)

from medsvc import clock
from medsvc.access.tables import BreakGlass
from medsvc.fhir import index, made_once
from medsvc.fhir.datetimes import to_micros

REF = index.REFERENCE
TOKEN = index.TOKEN
DATE = index.DATE
GLASS = BreakGlass.__table__  # type: ignore[attr-defined]
# Appointment.status codes (R4B appointmentstatus) of a visit that is or was taking place;
# proposed, pending, waitlist, cancelled, noshow and entered-in-error give no access.
CARING_STATUSES = ("booked", "arrived", "checked-in", "fulfilled")
# A practitioner keeps what names them itself: a report they performed or interpreted, a
# result they performed, an order they requested or perform. By search parameter, with the
# element it indexes (access/authorship.py guards those elements). Nothing is theirs by
# what another resource lists: a report's `result` is written by whoever writes the report.
OWN_WORK = {
    "DiagnosticReport": {"performer": "performer", "results-interpreter": "resultsInterpreter"},
    "Observation": {"performer": "performer"},
    "ServiceRequest": {"performer": "performer", "requester": "requester"},
}
# An alias of its own, made once: a statement these conditions go into may select from the
# same table (an _include reads search_reference), which would otherwise be correlated.
_WORK = REF.alias("care_own_work")


@dataclass(frozen=True)
class Care:
    """The care relationship under the deployment's settings."""

    days_after: int = 30

    def patients(self, practitioner_id: str) -> CTE:
        """The ids of the patients the practitioner cares for at the time a statement runs."""
        return _patients_in_care(f"{self.days_after}:{practitioner_id}")


def _now_param(name: str, offset: timedelta = timedelta()) -> BindParameter[Any]:
    """The current time (clock.now) minus the offset, as microseconds, read each time the
    statement runs: the CTE it is part of is made once per process."""
    return bindparam(
        name, type_=BigInteger, unique=True, callable_=lambda: to_micros(clock.now() - offset)
    )


def _by_appointment(practitioner_id: str, days_after: int) -> Any:
    """Patients of a booked or attended Appointment with the practitioner as actor, from its
    booking until days_after days after its start (the `date` search parameter)."""
    mine, patient, status, start = REF.alias(), REF.alias(), TOKEN.alias(), DATE.alias()
    since = _now_param("care_since", timedelta(days=days_after))
    return select(patient.c.target_id).where(
        mine.c.resource_type == "Appointment",
        mine.c.param == "actor",
        mine.c.target_type == "Practitioner",
        mine.c.target_id == practitioner_id,
        status.c.resource_pk == mine.c.resource_pk,
        status.c.param == "status",
        status.c.code.in_(CARING_STATUSES),
        start.c.resource_pk == mine.c.resource_pk,
        start.c.param == "date",
        start.c.high >= since,
        patient.c.resource_pk == mine.c.resource_pk,
        patient.c.param == "actor",
        patient.c.target_type == "Patient",
    )


def _by_care_team(practitioner_id: str) -> Any:
    """Subjects of an active CareTeam with the practitioner as participant, within its
    period (the `date` search parameter; a CareTeam without one gives nothing)."""
    team, subject, status, period = REF.alias(), REF.alias(), TOKEN.alias(), DATE.alias()
    now = _now_param("care_now")
    return select(subject.c.target_id).where(
        team.c.resource_type == "CareTeam",
        team.c.param == "participant",
        team.c.target_type == "Practitioner",
        team.c.target_id == practitioner_id,
        status.c.resource_pk == team.c.resource_pk,
        status.c.param == "status",
        status.c.code == "active",
        period.c.resource_pk == team.c.resource_pk,
        period.c.param == "date",
        period.c.low <= now,
        period.c.high >= now,
        subject.c.resource_pk == team.c.resource_pk,
        subject.c.param == "subject",
        subject.c.target_type == "Patient",
    )


def _by_break_glass(practitioner_id: str) -> Any:
    """Patients the practitioner broke the glass for, until it expires."""
    now = bindparam(
        "break_glass_now", type_=DateTime(timezone=True), unique=True, callable_=clock.now
    )
    return select(GLASS.c.patient_id).where(
        GLASS.c.practitioner == practitioner_id,
        GLASS.c.expires_at > now,
        GLASS.c.granted_at <= now,
    )


@made_once
def _patients_in_care(key: str) -> CTE:
    days_after, _, practitioner_id = key.partition(":")
    name = hashlib.sha256(key.encode()).hexdigest()[:12]
    return union(
        _by_appointment(practitioner_id, int(days_after)),
        _by_care_team(practitioner_id),
        _by_break_glass(practitioner_id),
    ).cte(f"care_patients_{name}")


def own_work(
    resource_type: str, resource: FromClause, practitioner_id: str
) -> ColumnElement[bool] | None:
    """The resources of the type that name the practitioner in an own-work element; None
    for a type that holds no such work."""
    params = OWN_WORK.get(resource_type)
    if params is None:
        return None
    theirs = select(_WORK.c.resource_pk).where(
        _WORK.c.resource_type == resource_type,
        _WORK.c.param.in_(tuple(params)),
        _WORK.c.target_type == "Practitioner",
        _WORK.c.target_id == practitioner_id,
    )
    return resource.c.pk.in_(theirs)
