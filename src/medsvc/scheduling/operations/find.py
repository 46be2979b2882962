"""Appointment/$find (IHE ITI-115): proposed Appointments for free slots in a time window,
by start time, narrowed by specialty, service type, practitioner, organization and location.

It reads the booking ledger, not the Slot search index: a slot is offered only while a seat
of it is left, so held and booked time is never offered.
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import CTE, ColumnElement, Connection, Select, func, or_, select

from medsvc import clock
from medsvc.clock import utc
from medsvc.errors import Invalid
from medsvc.fhir import (
    Definitions,
    Inputs,
    Operation,
    OperationCall,
    Result,
    index,
    jsonio,
    local_id,
    natural,
    read_inputs,
)
from medsvc.fhir.datetimes import EPOCH, format_instant, parse_range
from medsvc.fhir.index import RESOURCE
from medsvc.scheduling.ledger import LEDGER
from medsvc.scheduling.operations import requests
from medsvc.security import scopes

L = LEDGER.c
MAX_WINDOW = timedelta(days=93)


def _moment(inputs: Inputs, name: str) -> datetime:
    """The instant a start or end names: its earliest, since the window is half-open
    (end=2026-12-10 is the midnight that begins that day, which it excludes)."""
    text = inputs.one(name)
    if not isinstance(text, str):
        raise Invalid(f"$find needs {name}, a dateTime")
    low, _top = parse_range(text)
    return EPOCH + timedelta(microseconds=low)


def _schedules_coded(session: Connection, param: str, tokens: list[str]) -> list[str]:
    """The Schedules carrying one of the codes themselves."""
    query = select(RESOURCE.c.id).where(RESOURCE.c.pk.in_(index.coded("Schedule", param, tokens)))
    return list(session.execute(query).scalars())


def _coded(session: Connection, param: str, tokens: list[str]) -> ColumnElement[bool]:
    """The slot, or its schedule, has one of the codes."""
    on_slot = index.has_token(L.slot_pk, param, tokens)
    return or_(L.schedule_id.in_(_schedules_coded(session, param, tokens)), on_slot)


def _acted_by(session: Connection, kind: str, ids: list[str]) -> set[str]:
    """The Schedules with one of these actors."""
    actors = index.referring("Schedule", ("actor",), kind, ids)
    query = select(RESOURCE.c.id).where(RESOURCE.c.pk.in_(actors))
    return set(session.execute(query).scalars())


# The pks of an organization's Schedules, by its id: the directory as the access policy
# reads it, given by create_app().
SchedulesOf = Callable[[str], CTE]


def _of_organizations(
    session: Connection, schedules_of: SchedulesOf, org_ids: list[str]
) -> set[str]:
    found: set[str] = set()
    for org_id in org_ids:
        pks = select(schedules_of(org_id).c[0])
        found |= set(session.execute(select(RESOURCE.c.id).where(RESOURCE.c.pk.in_(pks))).scalars())
    return found


def _ids(call: OperationCall, inputs: Inputs, name: str, kind: str) -> list[str]:
    found = []
    for value in inputs.all(name):
        found_id = local_id(value, kind, call.server.base_url, name)
        if found_id is None:
            raise Invalid(f"{name} is a reference such as {kind}/123, not '{value}'")
        found.append(found_id)
    return found


def _schedules(call: OperationCall, inputs: Inputs, schedules_of: SchedulesOf) -> set[str] | None:
    """The Schedules the actors and organizations asked for allow; None: any schedule."""
    allowed: set[str] | None = None
    for name, kind in (("practitioner", "Practitioner"), ("location", "Location")):
        if ids := _ids(call, inputs, name, kind):
            found = _acted_by(call.session, kind, ids)
            allowed = found if allowed is None else allowed & found
    if org_ids := _ids(call, inputs, "organization", "Organization"):
        found = _of_organizations(call.session, schedules_of, org_ids)
        allowed = found if allowed is None else allowed & found
    return allowed


def _query(call: OperationCall, inputs: Inputs, schedules_of: SchedulesOf) -> Select[Any]:
    """The free slots asked for, from the ledger alone: its (schedule, start) and (start)
    indexes drive the query, and a deleted Slot has no ledger row."""
    start, end = _moment(inputs, "start"), _moment(inputs, "end")
    if end <= start or end - start > MAX_WINDOW:
        raise Invalid(f"$find needs start before end, at most {MAX_WINDOW.days} days apart")
    query = select(L.slot_id, L.schedule_id, L.start, L.end).where(
        L.start >= max(start, clock.now()),
        L.start < end,
        L.bookable.is_(True),
        L.taken < L.capacity,
    )
    allowed = _schedules(call, inputs, schedules_of)
    if allowed is not None:
        query = query.where(L.schedule_id.in_(sorted(allowed)))
    for name in ("specialty", "service-type"):
        if tokens := inputs.all(name):
            if not all(isinstance(t, str) for t in tokens):
                raise Invalid(f"{name} is a token such as system|code")
            query = query.where(_coded(call.session, name, tokens))
    return query


def find(schedules_of: SchedulesOf, call: OperationCall) -> Result:
    scopes.require(call.ctx, "Slot", "search")
    inputs = read_inputs(call)
    count = natural(str(inputs.one("_count") or call.server.default_page_size))
    if count is None or count > call.server.max_page_size:
        raise Invalid(f"_count is a number up to {call.server.max_page_size}")
    query = _query(call, inputs, schedules_of)
    total = call.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = call.session.execute(query.order_by(L.start, L.slot_id).limit(count)).all()
    slots = requests.read_contents(call.session, "Slot", [row.slot_id for row in rows])
    schedules = requests.read_contents(call.session, "Schedule", [row.schedule_id for row in rows])
    patient = call.ctx.patient
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, row.slot_id)}",
            "resource": requests.proposal([row.slot_id], slots, schedules, patient),
            "search": {"mode": "match"},
        }
        for row in rows
    ]
    for entry, row in zip(entries, rows, strict=True):
        entry["resource"]["start"] = format_instant(utc(row.start))
        entry["resource"]["end"] = format_instant(utc(row.end))
    answer = {"resourceType": "Bundle", "type": "searchset", "total": total, "entry": entries}
    return Result(200, body=jsonio.dumps(answer))


def operation(definitions: Definitions, schedules_of: SchedulesOf) -> Operation:
    return Operation(definitions.operation("Appointment-find"), partial(find, schedules_of))
