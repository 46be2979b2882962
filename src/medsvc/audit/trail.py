"""The audit trail: AuditEvents appended to the store by a background writer, each linked into
the hash chain in its own transaction (so the audit of a failed request survives its
rollback), and the check that the chain is whole."""

import asyncio
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from medsvc import clock
from medsvc.audit import events as audit
from medsvc.audit.tables import AuditChain
from medsvc.db import Database
from medsvc.fhir import FhirServer, index, insert_resource, new_id, pending

log = logging.getLogger("medsvc.audit")
CHAIN = AuditChain.__table__  # type: ignore[attr-defined]
RESOURCE = index.RESOURCE
FLUSH_SECONDS = 0.05  # reads are audited within this long; writes wait for their record
BATCH = 500
ATTEMPTS = 5
CHAIN_LOCK = 7_302_411  # PostgreSQL advisory lock id: one appender at a time, all processes
Done = Callable[[bool], None]
# Marks accesses before their AuditEvents are made (a purpose of use), in the writer's
# transaction.
Amendment = Callable[[Connection, list[audit.Access]], None]
_LIVE: "weakref.WeakSet[AuditTrail]" = weakref.WeakSet()


def flush_all() -> None:
    """Waits until every trail of this process has stored what it was given."""
    for trail in list(_LIVE):
        trail.flush()


def append(
    session: Connection,
    server: FhirServer,
    accesses: list[audit.Access],
    amendments: Sequence[Amendment] = (),
) -> None:
    """Stores the accesses' AuditEvents and links them into the chain, in order, once the
    amendments have marked them."""
    if session.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": CHAIN_LOCK})
    last = session.execute(select(CHAIN.c.hash).order_by(CHAIN.c.seq.desc()).limit(1)).first()
    previous = last[0] if last else audit.GENESIS
    for amend in amendments:
        amend(session, accesses)
    definition = server.definition("AuditEvent", "read")
    recorded = audit.recorded_at(clock.now())
    links = []
    with pending.batched(session):  # versions and index rows: one statement per table
        for access in accesses:
            event = audit.audit_event(access, recorded, server.base_url)
            stored = insert_resource(
                session, server.sealer, definition, new_id(), event, server.base_url
            )
            assert stored.content is not None
            digest = audit.chain_hash(previous, stored.content)
            links.append({"resource_pk": stored.pk, "previous": previous, "hash": digest})
            previous = digest
    session.execute(insert(CHAIN), links)


def chain_links(session: Connection) -> list[audit.ChainLink]:
    query = (
        select(CHAIN.c.seq, CHAIN.c.previous, CHAIN.c.hash, RESOURCE.c.content)
        .select_from(CHAIN.outerjoin(RESOURCE, RESOURCE.c.pk == CHAIN.c.resource_pk))
        .order_by(CHAIN.c.seq)
    )
    return [
        audit.ChainLink(seq, previous, digest, _as_bytes(content))
        for seq, previous, digest, content in session.execute(query)
    ]


def _as_bytes(content: Any) -> bytes | None:
    """The stored record as bytes, even if someone rewrote it as text."""
    if content is None or isinstance(content, bytes):
        return content
    return bytes(content) if isinstance(content, memoryview) else str(content).encode()


def verify(session: Connection) -> tuple[int, list[str]]:
    """How many records the chain holds, and what is wrong with it (nothing when whole)."""
    links = chain_links(session)
    problems = audit.verify_chain(links)
    chained = select(CHAIN.c.resource_pk)
    unchained = session.execute(
        select(func.count()).where(
            RESOURCE.c.resource_type == "AuditEvent", RESOURCE.c.pk.not_in(chained)
        )
    ).scalar_one()
    if unchained:
        problems.append(f"{unchained} AuditEvent(s) were added outside the chain")
    return len(links), problems


class AuditTrail:
    """Queues accesses and appends them in batches from one thread per process."""

    def __init__(
        self,
        server: FhirServer,
        database: Database,
        max_backlog: int,
        amendments: Sequence[Amendment] = (),
    ):
        self.server, self.database, self.max_backlog = server, database, max_backlog
        self.amendments = tuple(amendments)
        _LIVE.add(self)
        self._queue: deque[tuple[audit.Access, Done | None]] = deque()
        self._wake = threading.Event()
        self._unwritten = 0  # recorded and not yet stored (or given up), under _written
        self._written = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def backlogged(self) -> bool:
        """Reads wait for their records beyond this: under a load the writer cannot keep up
        with, the service slows down rather than hold ever more records in memory."""
        return len(self._queue) >= self.max_backlog

    def record(self, access: audit.Access, done: Done | None = None) -> None:
        with self._written:
            self._unwritten += 1
        self._queue.append((access, done))
        if done is not None:
            self._wake.set()  # someone waits for this one: no batching delay
        self._start()

    async def record_durably(self, access: audit.Access) -> bool:
        """Records the access and waits until it is committed; False if it could not be."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()

        def settle(ok: bool) -> None:
            if not future.done():
                future.set_result(ok)

        def done(ok: bool) -> None:
            loop.call_soon_threadsafe(settle, ok)

        self.record(access, done)
        return await future

    def flush(self, timeout: float = 30.0) -> None:
        """Waits until every access recorded so far is stored."""
        self._wake.set()
        with self._written:
            if not self._written.wait_for(lambda: self._unwritten == 0, timeout):
                raise TimeoutError("the audit trail did not catch up")

    def close(self) -> None:
        self.flush()
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="medsvc-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            if batch:
                self._write(batch)

    def _write(self, batch: list[tuple[audit.Access, Done | None]]) -> None:
        ok = False
        for attempt in range(ATTEMPTS):
            try:
                with self.database.session(write=True) as session:
                    append(session, self.server, [access for access, _ in batch], self.amendments)
                ok = True
                break
            except Exception:  # a lost audit record must be loud, and retried
                log.exception("audit records could not be stored (attempt %d)", attempt + 1)
                time.sleep(0.1 * 2**attempt)
        for _, done in batch:
            if done is not None:
                done(ok)
        with self._written:
            self._unwritten -= len(batch)
            self._written.notify_all()
