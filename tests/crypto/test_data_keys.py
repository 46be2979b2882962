"""Per-patient data keys on both databases: one per patient however many first writes race,
stored only wrapped, re-wrapped under a new KEK batch by batch, and gone for good when erased."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from medsvc import clock
from medsvc.crypto import data_keys, keyring
from medsvc.crypto.data_keys import KeyDestroyed
from medsvc.crypto.envelope import SealBroken, open_sealed, seal
from medsvc.crypto.keyring import FileKeyring
from medsvc.crypto.tables import PatientKey
from tests.conftest import Backend

PLACE = {"patient": "p1", "type": "DiagnosticReport", "id": "r1", "version": "1"}


@pytest.fixture
def ring(tmp_path: Path) -> FileKeyring:
    return FileKeyring(tmp_path / "kek")


def sealing(backend: Backend, ring: FileKeyring, patient_id: str) -> data_keys.DataKey:
    with backend.database.session(write=True) as session:
        return data_keys.key_for_sealing(session, ring, patient_id, clock.now())


def opening(backend: Backend, ring: FileKeyring, patient_id: str) -> data_keys.DataKey:
    with backend.database.session(write=False) as session:
        return data_keys.key_for_opening(session, ring, patient_id)


def stored_rows(backend: Backend) -> dict[str, tuple[str, str, bytes]]:
    table = PatientKey.__table__  # type: ignore[attr-defined]
    with backend.database.session(write=False) as session:
        rows = session.execute(
            select(table.c.patient_id, table.c.key_id, table.c.kek_id, table.c.wrapped)
        )
        return {r.patient_id: (r.key_id, r.kek_id, bytes(r.wrapped)) for r in rows}


def test_a_patient_gets_one_key_stored_only_wrapped(clean: Backend, ring: FileKeyring) -> None:
    first = sealing(clean, ring, "p1")
    assert sealing(clean, ring, "p1") == first
    assert opening(clean, ring, "p1") == first
    assert sealing(clean, ring, "p2").key_id != first.key_id
    rows = stored_rows(clean)
    assert set(rows) == {"p1", "p2"}
    assert rows["p1"][:2] == (first.key_id, ring.active())
    assert first.secret not in rows["p1"][2]


def test_concurrent_first_writes_of_one_patient_share_one_key(
    clean: Backend, ring: FileKeyring
) -> None:
    barrier = threading.Barrier(8)

    def first_write(_: int) -> data_keys.DataKey:
        barrier.wait()
        return sealing(clean, ring, "p1")

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(first_write, range(8)))
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert len(stored_rows(clean)) == 1


def test_a_key_wrapped_for_another_patient_does_not_unwrap(
    clean: Backend, ring: FileKeyring
) -> None:
    sealing(clean, ring, "p1")
    sealing(clean, ring, "p2")
    table = PatientKey.__table__  # type: ignore[attr-defined]
    with clean.database.session(write=True) as session:
        wrapped = session.execute(
            select(table.c.wrapped).where(table.c.patient_id == "p1")
        ).scalar()
        session.execute(table.update().where(table.c.patient_id == "p2").values(wrapped=wrapped))
    with pytest.raises(SealBroken):
        opening(clean, ring, "p2")


def test_rotate_then_rewrap_in_batches_keeps_every_record_readable(
    clean: Backend, ring: FileKeyring, tmp_path: Path
) -> None:
    patients = [f"p{n}" for n in range(10)]
    sealed = {
        p: seal(sealing(clean, ring, p), p.encode(), {**PLACE, "patient": p}) for p in patients
    }
    old = ring.active()
    new = keyring.rotate(tmp_path / "kek")
    with clean.database.session(write=True) as session:
        assert data_keys.rewrap_batch(session, ring, batch=4) == 4
    with clean.database.session(write=False) as session:
        assert data_keys.count_by_kek(session) == {old: 6, new: 4}
    for p in patients:  # half-way: every key opens, under either version
        assert (
            open_sealed(opening(clean, ring, p), sealed[p], {**PLACE, "patient": p}) == p.encode()
        )
    done = [4]
    while done[-1]:
        with clean.database.session(write=True) as session:
            done.append(data_keys.rewrap_batch(session, ring, batch=4))
    assert done == [4, 4, 2, 0]
    with clean.database.session(write=False) as session:
        assert data_keys.count_by_kek(session) == {new: 10}
    next((tmp_path / "kek").glob(f"*-{old}.kek")).unlink()  # the old KEK retired
    for p in patients:
        assert (
            open_sealed(opening(clean, ring, p), sealed[p], {**PLACE, "patient": p}) == p.encode()
        )


def test_destroying_the_key_makes_even_a_copy_of_the_records_unreadable(
    clean: Backend, ring: FileKeyring
) -> None:
    copied = seal(sealing(clean, ring, "p1"), b"marker-erase", PLACE)
    with clean.database.session(write=True) as session:
        assert data_keys.destroy(session, "p1") is True
        assert data_keys.destroy(session, "p1") is False
    with pytest.raises(KeyDestroyed):
        opening(clean, ring, "p1")
    fresh = sealing(clean, ring, "p1")  # a later record gets a new key, not the old one back
    with pytest.raises(SealBroken):
        open_sealed(fresh, copied, PLACE)


def test_records_stay_readable_while_keys_are_rewrapped(
    clean: Backend, ring: FileKeyring, tmp_path: Path
) -> None:
    """Readers open sealed records in other threads, each with its own connection, while
    the KEK is rotated and every data key re-wrapped batch by batch: no read fails."""
    patients = [f"p{n}" for n in range(30)]
    sealed = {
        p: seal(sealing(clean, ring, p), p.encode(), {**PLACE, "patient": p}) for p in patients
    }
    stop, reads, failures = threading.Event(), [0], []

    def read_until_stopped(offset: int) -> None:
        n = offset
        while not stop.is_set():
            p = patients[n % len(patients)]
            try:
                key = opening(clean, ring, p)
                assert open_sealed(key, sealed[p], {**PLACE, "patient": p}) == p.encode()
                reads[0] += 1
            except Exception as error:  # every failure is reported by the assertion below
                failures.append(repr(error))
            n += 1

    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(read_until_stopped, k) for k in range(4)]
        for _ in range(2):
            active = keyring.rotate(tmp_path / "kek")
            while True:
                with clean.database.session(write=True) as session:
                    if data_keys.rewrap_batch(session, ring, batch=7) == 0:
                        break
            with clean.database.session(write=False) as session:
                assert data_keys.count_by_kek(session) == {active: len(patients)}
        stop.set()
        for future in running:
            future.result()
    assert failures == []
    assert reads[0] > len(patients)
