"""The templates job: Slots made from the Schedules' availability templates for a rolling
horizon, and kept in step when a template changes, never touching a slot with seats taken
or a slot the hospital made itself."""

import hashlib
import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import ColumnElement, Connection, Select, and_, false, select
from sqlalchemy.exc import IntegrityError

from medsvc.clock import utc
from medsvc.errors import MedsvcError
from medsvc.fhir import FhirServer, index, interactions, jsonio, pending, read_current
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.index import RESOURCE
from medsvc.scheduling import ledger
from medsvc.scheduling.ledger import LEDGER
from medsvc.scheduling.slots import CAPACITY_URL
from medsvc.scheduling.templates import instant, parse_templates, planning_window, slot_times
from medsvc.security.context import platform_context

log = logging.getLogger("medsvc.scheduling.materialise")
TEMPLATE_SLOT_SYSTEM = "urn:medsvc:template-slot"
CONTEXT = platform_context("templates")
# Slot writes per run, nearest first. Each is a full FHIR write (measured: about 1 ms on
# SQLite, 2 ms on PostgreSQL), and the run is one transaction, which on SQLite holds the
# only writer: a run stays within seconds, and a city's first fill takes several runs.
BATCH = 5000
# The elements of a template slot the template decides; the rest (its status, a comment)
# the hospital may change, and a change of the template keeps them.
COPIED = ("serviceCategory", "serviceType", "specialty")
OWNED = ("identifier", "schedule", *COPIED, "start", "end")
R, L = RESOURCE.c, LEDGER.c


@dataclass(frozen=True)
class Wanted:
    """A slot a template gives."""

    start: datetime
    end: datetime
    capacity: int


@dataclass(frozen=True)
class Existing:
    """A template slot ahead as the ledger has it, with its stored content."""

    start: datetime
    end: datetime
    capacity: int
    taken: int
    content: bytes


@dataclass(frozen=True, order=True)
class Write:
    """One planned slot write: deletions first, then the earliest slots."""

    rank: tuple[int, datetime]
    schedule_id: str = field(compare=False)
    slot_id: str = field(compare=False)
    slot: Wanted | None = field(compare=False)  # None deletes the slot
    shared: dict[str, Any] = field(compare=False)  # what the schedule's slots all say
    new: bool = field(default=False, compare=False)  # no row had the id when it was planned

    def resource(self) -> dict[str, Any]:
        """The slot as the template gives it."""
        assert self.slot is not None
        resource: dict[str, Any] = {
            "resourceType": "Slot",
            "id": self.slot_id,
            "identifier": [{"system": TEMPLATE_SLOT_SYSTEM, "value": self.slot_id}],
            **self.shared,
            "status": "free",
            "start": format_instant(self.slot.start),
            "end": format_instant(self.slot.end),
        }
        if self.slot.capacity > 1:
            resource["extension"] = [{"url": CAPACITY_URL, "valueInteger": self.slot.capacity}]
        return resource


def materialise_templates(
    server: FhirServer,
    horizon_days: int,
    timezone: str,
    session: Connection,
    now: datetime,
    batch: int = BATCH,
) -> int:
    """The job: creates the template slots ahead that are missing, changes or deletes the free
    ones the templates no longer give, and returns how many slots it wrote (at most batch).

    Safe to run again and in two workers: slot ids are derived from the schedule and the
    start, so a slot is created once, and each schedule's writes run in a savepoint that a
    conflicting worker (or a bad template) undoes without losing the rest. It only executes
    statements; the caller's unit of work commits.
    """
    zone, now = ZoneInfo(timezone), utc(now)
    planned = heapq.nsmallest(batch, _plan(session, horizon_days, zone, now))
    planned.sort(key=lambda w: (w.schedule_id, w.rank))
    return sum(
        _apply_schedule(server, session, schedule_id, list(writes))
        for schedule_id, writes in groupby(planned, key=lambda w: w.schedule_id)
    )


def template_slot_id(schedule_id: str, start: datetime) -> str:
    """Schedule id and UTC start (to the minute); a hash when that is longer than an id may be."""
    stamp = utc(start).strftime("%Y%m%d%H%M")
    readable = f"{schedule_id}-{stamp}"
    if len(readable) <= 64:
        return readable
    return "t-" + hashlib.sha256(f"{schedule_id}|{stamp}".encode()).hexdigest()[:40]


def is_template_slot(resource: dict[str, Any]) -> bool:
    return any(
        isinstance(i, dict) and i.get("system") == TEMPLATE_SLOT_SYSTEM
        for i in resource.get("identifier") or []
    )


# --- planning: what each schedule's slots ahead should be, against what they are


def _plan(session: Connection, horizon_days: int, zone: ZoneInfo, now: datetime) -> Iterator[Write]:
    schedules = _current_schedules(session)
    with_slots = _schedules_with_template_slots(session, now)
    for schedule_id in sorted(set(schedules) | with_slots):
        schedule = schedules.get(schedule_id)
        try:
            wanted = _wanted(schedule_id, schedule, horizon_days, zone, now)
        except MedsvcError as error:  # stored before templates were checked: left as it is
            _skipped(schedule_id, error)
            continue
        existing = _existing(session, schedule_id, now) if schedule_id in with_slots else {}
        yield from _diff(session, schedule_id, _shared(schedule_id, schedule), wanted, existing)


def _current_schedules(session: Connection) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(R.id, R.content).where(R.resource_type == "Schedule", R.deleted == false())
    )
    return {row.id: jsonio.loads_stored(row.content) for row in rows}


def _is_template_slot_row() -> ColumnElement[bool]:
    """The resource row (R) is a slot with the template identifier, by its search index."""
    return index.has_token(R.pk, "identifier", [f"{TEMPLATE_SLOT_SYSTEM}|"])


def _slot_rows(*columns: Any) -> Select[Any]:
    """Ledger rows with their Slot resource row, of template slots."""
    return (
        select(*columns)
        .join(RESOURCE, and_(R.resource_type == "Slot", R.id == L.slot_id))
        .where(_is_template_slot_row())
    )


def _schedules_with_template_slots(session: Connection, now: datetime) -> set[str]:
    pending.flush(session)  # index rows a batched caller may still hold
    query = _slot_rows(L.schedule_id).where(L.start > now).distinct()
    return set(session.execute(query).scalars())


def _existing(session: Connection, schedule_id: str, now: datetime) -> dict[str, Existing]:
    query = _slot_rows(L.slot_id, L.start, L.end, L.capacity, L.taken, R.content).where(
        L.schedule_id == schedule_id, L.start > now
    )
    return {
        row.slot_id: Existing(utc(row.start), utc(row.end), row.capacity, row.taken, row.content)
        for row in session.execute(query)
    }


def _wanted(
    schedule_id: str,
    schedule: dict[str, Any] | None,
    horizon_days: int,
    zone: ZoneInfo,
    now: datetime,
) -> dict[str, Wanted]:
    """The template slots the schedule should have ahead, by id: none when it is deleted or
    inactive. Each template reaches its own horizon of whole days of the city's calendar."""
    if schedule is None or schedule.get("active") is False:
        return {}
    earliest, latest = planning_window(schedule, zone)
    today = now.astimezone(zone).date()
    wanted = {}
    for template in parse_templates(schedule):
        days = template.horizon_days or horizon_days
        until = instant(today + timedelta(days=days), time(0), zone)
        for start, end in slot_times(template, zone, now, until):
            if start > now and start >= earliest and end <= latest:
                wanted[template_slot_id(schedule_id, start)] = Wanted(start, end, template.capacity)
    return wanted


def _shared(schedule_id: str, schedule: dict[str, Any] | None) -> dict[str, Any]:
    """What every slot of the schedule says alike: the schedule and its services. Where and
    with whom is said by the Schedule's actors, which the slot refers to."""
    shared = {"schedule": {"reference": f"Schedule/{schedule_id}"}}
    shared.update((name, schedule[name]) for name in COPIED if schedule and schedule.get(name))
    return shared


def _diff(
    session: Connection,
    schedule_id: str,
    shared: dict[str, Any],
    wanted: dict[str, Wanted],
    existing: dict[str, Existing],
) -> list[Write]:
    """Creates what is missing and changes free slots that differ; deletes free slots no
    longer wanted. Slots with seats taken are never written."""
    booked = [e for e in existing.values() if e.taken]
    # A time a booked slot takes stays its own, whatever the template says now.
    wanted = {k: w for k, w in wanted.items() if not _overlaps(w, booked)}
    missing = [k for k in wanted if k not in existing]
    new = set(missing) - _ids_present(session, missing)
    writes = [
        Write((1, w.start), schedule_id, k, w, shared, new=k in new)
        for k, w in wanted.items()
        if k not in existing or not (existing[k].taken or _matches(existing[k], w, shared))
    ]
    writes += [
        Write((0, e.start), schedule_id, k, None, shared)
        for k, e in existing.items()
        if not e.taken and k not in wanted
    ]
    return writes


def _overlaps(wanted: Wanted, slots: list[Existing]) -> bool:
    return any(s.start < wanted.end and wanted.start < s.end for s in slots)


def _ids_present(session: Connection, slot_ids: list[str]) -> set[str]:
    """Which of these Slot ids have a row: deleted, or not a template slot of the schedule."""
    found: set[str] = set()
    for i in range(0, len(slot_ids), 500):  # a bounded number of parameters per statement
        chunk = slot_ids[i : i + 500]
        query = select(R.id).where(R.resource_type == "Slot", R.id.in_(chunk))
        found.update(session.execute(query).scalars())
    return found


def _matches(found: Existing, wanted: Wanted, shared: dict[str, Any]) -> bool:
    """Whether a template slot already says what the template does: its time and capacity
    (from the ledger), then its schedule and services (from its content)."""
    if (found.start, found.end, found.capacity) != (wanted.start, wanted.end, wanted.capacity):
        return False
    # orjson: several times faster than the exact parser, and these elements hold no decimals.
    resource = orjson.loads(found.content)
    return all(resource.get(name) == shared.get(name) for name in ("schedule", *COPIED))


def _merged(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The current slot with what the template decides replaced; the rest (its status, a
    comment, the hospital's identifiers and extensions) kept."""
    merged = {k: v for k, v in current.items() if k not in ("meta", *OWNED)}
    merged.update((k, wanted[k]) for k in OWNED if k in wanted)
    others = [i for i in current.get("identifier") or [] if not _ours(i)]
    merged["identifier"] = wanted["identifier"] + others
    extensions = [e for e in current.get("extension") or [] if e.get("url") != CAPACITY_URL]
    extensions += wanted.get("extension", [])
    merged.pop("extension", None)
    if extensions:
        merged["extension"] = extensions
    return merged


def _ours(identifier: Any) -> bool:
    return isinstance(identifier, dict) and identifier.get("system") == TEMPLATE_SLOT_SYSTEM


# --- applying: each schedule's writes in a savepoint, each slot locked and checked again


def _apply_schedule(
    server: FhirServer, session: Connection, schedule_id: str, writes: list[Write]
) -> int:
    try:
        # Versions and index rows are written in bulk, as for a transaction Bundle.
        with session.begin_nested(), pending.batched(session):
            return sum(_apply(server, session, write) for write in writes)
    except (IntegrityError, MedsvcError) as error:
        # Another worker made the same slot first, or a hook refused a write: the schedule's
        # writes of this run are undone, and the next run starts from what is there.
        _skipped(schedule_id, error)
        return 0


def _skipped(schedule_id: str, error: Exception) -> None:
    # The error's class only: its text may quote stored content.
    fields = {"schedule": schedule_id, "error": type(error).__name__}
    log.warning("schedule templates skipped", extra={"fields": fields})


def _apply(server: FhirServer, session: Connection, write: Write) -> int:
    """Writes one slot as planned, if it is still a free template slot (or none at all).
    An existing slot's row is locked first, so a booking of it waits for this write or
    went before it; a new slot's id, made by another worker meanwhile, fails the insert."""
    definition = server.definition("Slot", "update")
    if write.new:
        wanted = write.resource()
        interactions.prepare(server, session, CONTEXT, "create", wanted, None)
        interactions.insert(server, session, CONTEXT, definition, wanted, write.slot_id)
        return 1
    current = read_current(session, server.sealer, "Slot", write.slot_id, for_update=True)
    if current is None or (current.content is None and write.slot is None):
        return 0
    if current.content is None:  # deleted: made again while its template gives it
        interactions.write_version(
            server, session, CONTEXT, definition, current, write.resource(), None, "PUT"
        )
        return 1
    resource = jsonio.loads_stored(current.content)
    if not is_template_slot(resource) or _taken(session, current.id):
        return 0
    if write.slot is None:
        interactions.delete_current(server, session, CONTEXT, definition, current)
        return 1
    merged = _merged(resource, write.resource())
    written = interactions.write_version(
        server, session, CONTEXT, definition, current, merged, None, "PUT"
    )
    return int(written.stored is not current)


def _taken(session: Connection, slot_id: str) -> bool:
    slot = ledger.read_slots(session, [slot_id]).get(slot_id)
    return slot is not None and slot.taken > 0
