"""A million Slots in bulk: the rows the FHIR layer writes for a new Slot, built with medsvc's
own code and inserted in bulk (executemany on SQLite, COPY on PostgreSQL).

Through the FHIR layer a Slot costs validation, the scheduling hooks' reads and a dozen
statements; that is measured on the first day of the calendar (written through it), and
the remaining days are written here, as copies of one template Slot per schedule and time
of day with the id, the key and the instants changed. The template's rows come from
medsvc's own functions (store.stamp, jsonio.dumps, indexing.rows_for) and, for the booking
ledger, from medsvc's Slot after_write hook itself, run in a savepoint that is rolled back.
Three checks stand behind the copies: check_rows() on Slots the FHIR layer wrote (the rows
SlotRows builds are exactly the FHIR layer's: the stored JSON byte for byte, the version
row, every search index row and the ledger row), check_copies() (a copy equals what
SlotRows builds for the same Slot), and check_rows() again on the newest bulk-written
Slots (what was inserted reads back as the hook and the indexer would have written it).
"""

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from booking_seed import (
    SLOT_MINUTES,
    Schedule,
    Seeder,
    instant,
    slot_resource,
    slot_start,
    slots_per_day,
)
from sqlalchemy import Connection, Table, delete, func, insert, select

from medsvc import clock
from medsvc.fhir import indexing, jsonio, store
from medsvc.fhir.datetimes import parse_instant
from medsvc.fhir.registry import WriteEvent
from medsvc.fhir.server import FhirServer
from medsvc.fhir.store import Stored
from medsvc.fhir.tables import INDEX_TABLES
from medsvc.scheduling import slots
from medsvc.scheduling.ledger import LEDGER
from medsvc.security.context import platform_context

RESOURCE: Table = store.RESOURCE
VERSION: Table = store.VERSION
INDEX: dict[str, Table] = {kind: model.__table__ for kind, model in INDEX_TABLES.items()}  # type: ignore[attr-defined]
Rows = dict[str, list[dict[str, Any]]]  # table name -> rows


class SlotRows:
    """Builds the rows of new Slots as interactions.insert and the Slot hooks would: the
    stored JSON, version and search index rows with medsvc's own functions, and the ledger
    row by running medsvc's Slot after_write hook itself (then rolled back), so that the
    ledger's columns are whatever the hook writes."""

    def __init__(self, server: FhirServer):
        self.definition = server.definition("Slot", "create")
        self.base_url = server.base_url
        self.tables = {t.name: t for t in (RESOURCE, VERSION, LEDGER, *INDEX.values())}

    def add(
        self,
        session: Connection,
        rows: Rows,
        pk: int,
        slot_id: str,
        resource: dict[str, Any],
        now: datetime,
    ) -> None:
        stamped = store.stamp(resource, slot_id, 1, now)
        content = jsonio.dumps(stamped)
        resource_row = {
            "pk": pk,
            "resource_type": "Slot",
            "id": slot_id,
            "version_id": 1,
            "last_updated": now,
            "deleted": False,
            "content": content,
            "owner": None,
        }
        rows.setdefault(RESOURCE.name, []).append(resource_row)
        rows.setdefault(VERSION.name, []).append(
            {
                "resource_pk": pk,
                "resource_type": "Slot",
                "id": slot_id,
                "version_id": 1,
                "last_updated": now,
                "deleted": False,
                "method": "POST",
                "content": content,
            }
        )
        for param in self.definition.indexed_by.for_resource(stamped):
            table = INDEX[param.type]
            for row in indexing.rows_for(param, stamped, self.base_url):
                full = {c.name: None for c in table.columns if c.name != "pk"}
                full.update(row, resource_pk=pk, resource_type="Slot", param=param.code)
                rows.setdefault(table.name, []).append(full)
        rows.setdefault(LEDGER.name, []).append(self.ledger_row(session, resource_row, resource))

    def ledger_row(
        self, session: Connection, resource_row: dict[str, Any], resource: dict[str, Any]
    ) -> dict[str, Any]:
        """The ledger row medsvc's Slot hook writes for this new Slot: the resource row is
        inserted and the hook run in a savepoint, the row read back, and both undone."""
        stored = Stored(
            resource_row["pk"],
            "Slot",
            resource_row["id"],
            1,
            resource_row["last_updated"],
            False,
            resource_row["content"],
        )
        event = WriteEvent("create", "Slot", resource, None)
        savepoint = session.begin_nested()
        try:
            if (
                session.execute(
                    select(RESOURCE.c.pk).where(RESOURCE.c.pk == resource_row["pk"])
                ).first()
                is None
            ):
                session.execute(insert(RESOURCE), [resource_row])
            # A Slot already stored (by the FHIR layer or in bulk) has its row recomputed.
            session.execute(delete(LEDGER).where(LEDGER.c.slot_id == resource_row["id"]))
            slots.after_write(session, platform_context("bench"), event, stored)
            row = session.execute(
                select(LEDGER).where(LEDGER.c.slot_id == resource_row["id"])
            ).one()
        finally:
            savepoint.rollback()
        return {c.name: _normal(v) for c, v in zip(LEDGER.columns, row, strict=True)}

    def write(self, session: Connection, rows: Rows) -> None:
        """Inserts the rows in the session's transaction; resources first (the others refer
        to them)."""
        order = [RESOURCE.name, *(n for n in rows if n != RESOURCE.name)]
        cursor = session.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for name in order:
                if session.dialect.name == "postgresql":
                    _copy(cursor, name, rows[name])
                else:
                    self._insert_sqlite(session, cursor, name, rows[name])
        finally:
            cursor.close()

    def _insert_sqlite(
        self, session: Connection, cursor: Any, name: str, rows: list[dict[str, Any]]
    ) -> None:
        """executemany on the driver, each value passed through the column type's own
        bind processor: what SQLAlchemy's insert() would send, without its per-row cost."""
        columns = list(rows[0])
        table, dialect = self.tables[name], session.dialect
        processors = [
            (n, p)
            for n, c in enumerate(columns)
            if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect))
        ]
        values = []
        for row in rows:
            value = [row[c] for c in columns]
            for n, process in processors:
                value[n] = process(value[n])
            values.append(value)
        quoted = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', values)


def _copy(cursor: Any, table: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    quoted = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def next_pk(session: Connection) -> int:
    return int(session.execute(select(func.coalesce(func.max(RESOURCE.c.pk), 0))).scalar_one()) + 1


def reset_sequence(session: Connection) -> None:
    """After explicit primary keys, PostgreSQL's sequence must start past them."""
    if session.dialect.name == "postgresql":
        session.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('resource', 'pk'), "
            "(SELECT max(pk) FROM resource))"
        )


class Replicator:
    """Copies of one template Slot at other times: its rows with the id, the primary key,
    the instants and the start index shifted. SlotRows builds the template; check_copies()
    compares copies with what SlotRows builds for them directly."""

    TEMPLATE_PK = 987_654_321  # never a real key: copied values equal to it are the key

    def __init__(
        self, builder: SlotRows, session: Connection, template: dict[str, Any], now: datetime
    ):
        self.template_id = "00000000-0000-4000-8000-000000000000"
        self.rows: Rows = {}
        builder.add(session, self.rows, self.TEMPLATE_PK, self.template_id, template, now)
        self.start, self.end = template["start"], template["end"]
        self.begins = parse_instant(self.start)

    def add(self, rows: Rows, pk: int, slot_id: str, start: str, end: str) -> None:
        delta = parse_instant(start) - self.begins
        micros = delta // timedelta(microseconds=1)
        content = self.rows[RESOURCE.name][0]["content"]
        for old, new in (
            (f'"id":"{self.template_id}"', f'"id":"{slot_id}"'),
            (f'"start":"{self.start}"', f'"start":"{start}"'),
            (f'"end":"{self.end}"', f'"end":"{end}"'),
        ):
            content = content.replace(old.encode(), new.encode(), 1)
        for name, template_rows in self.rows.items():
            out = rows.setdefault(name, [])
            for row in template_rows:
                copy = {}
                for column, value in row.items():
                    if column == "content":
                        value = content
                    elif value == self.template_id:
                        value = slot_id
                    elif value == self.TEMPLATE_PK and column != "version_id":
                        value = pk
                    elif isinstance(value, datetime) and name == LEDGER.name:
                        value = value + delta  # the slot's instants
                    copy[column] = value
                if name == INDEX["date"].name and copy["param"] != "_lastUpdated":
                    copy["low"] += micros
                    copy["high"] += micros
                out.append(copy)


def check_copies(
    builder: SlotRows,
    session: Connection,
    replicator: Replicator,
    resources: list[dict[str, Any]],
    now: datetime,
) -> None:
    """Copies of the template equal the rows SlotRows builds for the same Slots."""
    copied: Rows = {}
    built: Rows = {}
    for n, resource in enumerate(resources):
        slot_id = f"{n:08d}-0000-4000-8000-000000000000"
        replicator.add(copied, n + 1, slot_id, resource["start"], resource["end"])
        builder.add(session, built, n + 1, slot_id, resource, now)
    if copied != built:
        raise RuntimeError(
            f"copied Slot rows differ from the rows SlotRows builds: {copied} != {built}"
        )


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return clock.utc(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    return value


def _stored_rows(session: Connection, pks: list[int], slot_ids: list[str]) -> Counter[Any]:
    """Every row of these Slots in the store, index and ledger, without surrogate keys."""
    found: Counter[Any] = Counter()
    for table in (VERSION, *INDEX.values()):
        columns = [c for c in table.columns if c.name != "pk"]
        for row in session.execute(select(*columns).where(table.c.resource_pk.in_(pks))):
            found[(table.name, *(_normal(v) for v in row))] += 1
    for row in session.execute(select(RESOURCE).where(RESOURCE.c.pk.in_(pks))):
        found[(RESOURCE.name, *(_normal(v) for v in row))] += 1
    for row in session.execute(select(LEDGER).where(LEDGER.c.slot_id.in_(slot_ids))):
        found[(LEDGER.name, *(_normal(v) for v in row))] += 1
    return found


def _built_rows(builder: SlotRows, session: Connection, pks: list[int]) -> Counter[Any]:
    """The rows SlotRows builds for the same Slots, from what the FHIR layer stored."""
    rows: Rows = {}
    for stored in session.execute(select(RESOURCE).where(RESOURCE.c.pk.in_(pks))):
        content = jsonio.loads_stored(_normal(stored.content))
        resource = {k: v for k, v in content.items() if k not in ("id", "meta")}
        builder.add(session, rows, stored.pk, stored.id, resource, clock.utc(stored.last_updated))
    built: Counter[Any] = Counter()
    for name, table_rows in rows.items():
        table = builder.tables[name]
        for row in table_rows:
            columns = [c.name for c in table.columns if name == RESOURCE.name or c.name != "pk"]
            built[(name, *(_normal(row[c]) for c in columns))] += 1
    return built


def check_rows(
    builder: SlotRows, session: Connection, sample: int = 200, newest: bool = False
) -> int:
    """Compares the stored rows of Slots (the first ones, which the FHIR layer wrote, or the
    newest) with the rows SlotRows builds for them; raises if any differ. Returns how many
    Slots were compared."""
    order = RESOURCE.c.pk.desc() if newest else RESOURCE.c.pk
    chosen = session.execute(
        select(RESOURCE.c.pk, RESOURCE.c.id)
        .where(RESOURCE.c.resource_type == "Slot")
        .order_by(order)
        .limit(sample)
    ).all()
    pks, ids = [r.pk for r in chosen], [r.id for r in chosen]
    stored, built = _stored_rows(session, pks, ids), _built_rows(builder, session, pks)
    if stored != built:
        missing, extra = stored - built, built - stored
        raise RuntimeError(
            "bulk Slot rows differ from the FHIR layer's: "
            f"FHIR layer only {list(missing)[:3]}; bulk only {list(extra)[:3]}"
        )
    return len(pks)


def bulk_calendar(
    seeder: Seeder,
    schedules: list[Schedule],
    first_day: int,
    days: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Writes the calendar's days from first_day on as bulk copies, one transaction a day;
    returns how many Slots. Each (schedule, slot of the day) has its template."""
    builder, now = SlotRows(seeder.server), clock.now()
    most = max(slots_per_day(n, d) for n in range(len(schedules)) for d in range(9))
    with seeder.database.session(write=True) as session:  # its savepoints are rolled back
        copies = {
            (n, i): Replicator(builder, session, slot_resource(s, slot_start(0, i)), now)
            for n, s in enumerate(schedules)
            for i in range(most)
        }
        for day in (first_day, first_day + days - 1):  # first and last day, first schedules
            for n, i in ((n, i) for n in range(3) for i in (0, most - 1)):
                resource = slot_resource(schedules[n], slot_start(day, i))
                check_copies(builder, session, copies[(n, i)], [resource], now)
    written = 0
    for day in range(first_day, first_day + days):
        rows: Rows = {}
        with seeder.database.session(write=True) as session:
            pk = next_pk(session)
            for n in range(len(schedules)):
                for i in range(slots_per_day(n, day)):
                    begins = slot_start(day, i)
                    copies[(n, i)].add(
                        rows,
                        pk,
                        str(uuid.uuid4()),
                        instant(begins),
                        instant(begins + timedelta(minutes=SLOT_MINUTES)),
                    )
                    pk += 1
                    written += 1
            builder.write(session, rows)
            reset_sequence(session)
        if progress:
            progress(written)
    return written
