"""Erasing a patient's results: their data key is destroyed (so that no copy of their sealed
versions opens again) and every stored version sealed under it is deleted, in one transaction.

Services here only execute statements; the caller's unit of work commits.
"""

from sqlalchemy import Connection, delete, func, select

from medsvc.crypto import data_keys
from medsvc.crypto.envelope import FORMAT
from medsvc.fhir.store import RESOURCE
from medsvc.fhir.tables import ResourceVersion
from medsvc.results.at_rest import SEALED

R = RESOURCE.c
VERSION = ResourceVersion.__table__  # type: ignore[attr-defined]
V = VERSION.c


def _sealed_under(key_id: str) -> bytes:
    """The first bytes of every record sealed under this key (crypto/envelope.py's format)."""
    encoded = key_id.encode("ascii")
    return bytes([FORMAT, len(encoded)]) + encoded


def erase_results(session: Connection, patient_id: str) -> dict[str, int] | None:
    """Deletes the patient's data key and their results; returns how many resources of each
    type were deleted, or None when the patient has no data key (nothing sealed for them).

    A resource whose current version is theirs is deleted with all its versions and index
    rows; of a resource since moved to another patient (a correction), only their versions."""
    key_id = data_keys.key_id_of_patient(session, patient_id)
    if key_id is None:
        return None
    prefix = _sealed_under(key_id)
    theirs = (func.substr(R.content, 1, len(prefix)) == prefix, R.resource_type.in_(SEALED))
    counted = session.execute(
        select(R.resource_type, func.count()).where(*theirs).group_by(R.resource_type)
    ).all()
    session.execute(
        delete(VERSION).where(
            func.substr(V.content, 1, len(prefix)) == prefix, V.resource_type.in_(SEALED)
        )
    )
    session.execute(delete(RESOURCE).where(*theirs))  # versions and index rows cascade
    data_keys.destroy(session, patient_id)
    return {resource_type: int(count) for resource_type, count in counted}
