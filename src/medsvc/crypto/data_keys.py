"""Per-patient data keys: made on a patient's first sealed record, unwrapped to seal and open
their records, re-wrapped when the key-encryption key rotates, destroyed to erase them.

Services here only execute statements; the caller's unit of work commits.
"""

import os
from datetime import datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Row, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from medsvc.crypto.envelope import DataKey, SealBroken
from medsvc.crypto.keyring import KeyEncryptionKeys, UnknownKey
from medsvc.crypto.tables import PatientKey

KEYS = PatientKey.__table__  # type: ignore[attr-defined]
K = KEYS.c
REWRAP_BATCH = 500


class KeyDestroyed(SealBroken):
    """The patient's data key is gone (erased): their sealed records no longer open."""


def _wrap_context(patient_id: str, key_id: str) -> bytes:
    # The KEK version is not bound here: re-wrapping would otherwise break every key.
    purpose = {"key": key_id, "patient": patient_id, "purpose": "patient-data-key"}
    return orjson.dumps(purpose, option=orjson.OPT_SORT_KEYS)


_READ = select(K.key_id, K.kek_id, K.wrapped).where(K.patient_id == bindparam("patient_id"))
_READ_BY_ID = select(K.patient_id, K.key_id, K.kek_id, K.wrapped).where(
    K.key_id == bindparam("key_id")
)
_INSERT = {
    "postgresql": postgresql.insert(KEYS).on_conflict_do_nothing(index_elements=["patient_id"]),
    "sqlite": sqlite.insert(KEYS).on_conflict_do_nothing(index_elements=["patient_id"]),
}


def _unwrapped(keyring: KeyEncryptionKeys, patient_id: str, row: Row[Any]) -> DataKey:
    context = _wrap_context(patient_id, row.key_id)
    try:
        secret = keyring.unwrap(row.kek_id, bytes(row.wrapped), context)
    except (InvalidTag, UnknownKey) as error:
        raise SealBroken(f"the data key of patient {patient_id} does not unwrap") from error
    return DataKey(row.key_id, secret)


def key_for_opening(session: Connection, keyring: KeyEncryptionKeys, patient_id: str) -> DataKey:
    row = session.execute(_READ, {"patient_id": patient_id}).first()
    if row is None:
        raise KeyDestroyed(f"patient {patient_id} has no data key")
    return _unwrapped(keyring, patient_id, row)


def key_by_id(session: Connection, keyring: KeyEncryptionKeys, key_id: str) -> tuple[str, DataKey]:
    """The data key a record names, and whose it is."""
    row = session.execute(_READ_BY_ID, {"key_id": key_id}).first()
    if row is None:
        raise KeyDestroyed(f"data key {key_id} does not exist")
    return row.patient_id, _unwrapped(keyring, row.patient_id, row)


def key_for_sealing(
    session: Connection, keyring: KeyEncryptionKeys, patient_id: str, now: datetime
) -> DataKey:
    """The patient's data key, made now if they have none. Two transactions making the first
    key of one patient at once both end up with the one that was stored."""
    row = session.execute(_READ, {"patient_id": patient_id}).first()
    if row is None:
        secret, key_id = AESGCM.generate_key(bit_length=256), os.urandom(16).hex()
        kek_id = keyring.active()
        values = {
            "patient_id": patient_id,
            "key_id": key_id,
            "kek_id": kek_id,
            "wrapped": keyring.wrap(kek_id, secret, _wrap_context(patient_id, key_id)),
            "created_at": now,
        }
        session.execute(_INSERT[session.dialect.name], values)
        row = session.execute(_READ, {"patient_id": patient_id}).first()
        assert row is not None  # inserted now, or by the transaction that won
    return _unwrapped(keyring, patient_id, row)


def key_id_of_patient(session: Connection, patient_id: str) -> str | None:
    row = session.execute(_READ, {"patient_id": patient_id}).first()
    return str(row.key_id) if row else None


def destroy(session: Connection, patient_id: str) -> bool:
    """Deletes the patient's data key; True if there was one."""
    return bool(session.execute(delete(KEYS).where(K.patient_id == patient_id)).rowcount)


def count_by_kek(session: Connection) -> dict[str, int]:
    rows = session.execute(select(K.kek_id, func.count()).group_by(K.kek_id)).all()
    return {kek_id: int(count) for kek_id, count in rows}


def rewrap_batch(session: Connection, keyring: KeyEncryptionKeys, batch: int = REWRAP_BATCH) -> int:
    """Re-wraps up to batch data keys not under the active KEK; returns how many. Run batch
    after batch, each in its own transaction, until it returns 0: stopping anywhere leaves
    every key wrapped under one version or the other, and running it again goes on."""
    active = keyring.active()
    query = (
        select(K.patient_id, K.key_id, K.kek_id, K.wrapped)
        .where(K.kek_id != active)
        .order_by(K.patient_id)
        .limit(batch)
    )
    if session.dialect.name == "postgresql":  # two rewrapping processes share the work
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    for row in rows:
        key = _unwrapped(keyring, row.patient_id, row)
        context = _wrap_context(row.patient_id, row.key_id)
        session.execute(
            update(KEYS)
            .where(K.patient_id == row.patient_id, K.kek_id == row.kek_id)
            .values(kek_id=active, wrapped=keyring.wrap(active, key.secret, context))
        )
    return len(rows)
