"""The results' stored versions sealed under their patient's data key: which types are sealed,
whose key seals each version, and the place (patient, type, id, version) it is bound to."""

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection

from medsvc import clock
from medsvc.crypto import data_keys, envelope
from medsvc.crypto.keyring import KeyEncryptionKeys
from medsvc.db import unit_cache
from medsvc.errors import Unprocessable
from medsvc.fhir import Place, Sealer, jsonio, read_current, references

OPENING_KEY_SECONDS = 300.0
OPENING_KEYS_HELD = 10_000
SEALED = frozenset(
    {"DiagnosticReport", "Observation", "DocumentReference", "Binary", "ServiceRequest", "Specimen"}
)
# Binary has no subject: its security context names the Patient, or the DocumentReference
# that carries it (binary.html), whose subject is then the Patient.
_PATIENT_ELEMENT = {"Binary": "securityContext"}


def unpatiented(resource_type: str, element: str) -> Unprocessable:
    return Unprocessable(
        f"{resource_type}.{element} must refer to the Patient it concerns (for a Binary, or to "
        "a stored DocumentReference about them): it is stored sealed under that patient's key",
        expression=f"{resource_type}.{element}",
    )


def patient_of(
    session: Connection,
    sealer: Sealer | None,
    resource_type: str,
    resource: dict[str, Any],
    base_url: str,
) -> str:
    """The id of the Patient whose key seals this resource; 422 when it names none."""
    element = _PATIENT_ELEMENT.get(resource_type, "subject")
    reference = resource.get(element)
    target = (
        references.local_target(reference.get("reference"), base_url)
        if isinstance(reference, dict)
        else None
    )
    if target is not None and target.type == "Patient":
        return target.id
    if resource_type == "Binary" and target is not None and target.type == "DocumentReference":
        document = read_current(session, sealer, "DocumentReference", target.id)
        if document is not None and document.content is not None:
            content = jsonio.loads_stored(document.content)
            return patient_of(session, sealer, "DocumentReference", content, base_url)
    raise unpatiented(resource_type, element)


class Binding:
    """The associated data of one patient's versions under one data key: the same bytes as
    envelope.associated(key id, {"patient", "type", "id", "version" of the place}), assembled
    from parts made once, since a search opens tens of a patient's records and a dict and a
    sorted dump per record cost as much as decrypting it."""

    def __init__(self, key_id: str, patient_id: str):
        # The canonical JSON's keys in sorted order: format, id, key, patient, type, version;
        # the fixed values' own "%" escaped, the template being formatted once per record.
        key, patient = (orjson.dumps(value).replace(b"%", b"%%") for value in (key_id, patient_id))
        self._template = b"".join(
            (
                b'{"format":%d,"id":%%b,"key":' % envelope.FORMAT,
                key,
                b',"patient":',
                patient,
                b',"type":%b,"version":"%d"}',
            )
        )

    def of(self, place: Place) -> bytes:
        return self.of_all([(place, b"")])[0]

    def of_all(self, records: Sequence[tuple[Place, bytes]]) -> list[bytes]:
        """The associated data of each record's place."""
        template, dumps = self._template, orjson.dumps
        return [
            template % (dumps(place.id), dumps(place.resource_type), place.version_id)
            for place, _sealed in records
        ]


class OpeningKeys:
    """Data keys unwrapped for opening, each with its patient's Binding, kept by the process
    for a few minutes: a citizen's reads then cost no key lookup and no unwrapping. A key
    destroyed by an erasure leaves every process within OPENING_KEY_SECONDS; the records it
    opened are deleted with it."""

    def __init__(self, seconds: float = OPENING_KEY_SECONDS, most: int = OPENING_KEYS_HELD):
        self.seconds, self.most = seconds, most
        self._held: dict[str, tuple[float, envelope.DataKey, Binding]] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Connection, keyring: KeyEncryptionKeys, key_id: str
    ) -> tuple[envelope.DataKey, Binding]:
        now = time.monotonic()
        held = self._held.get(key_id)
        if held is not None and held[0] > now:
            return held[1], held[2]
        patient_id, key = data_keys.key_by_id(session, keyring, key_id)
        binding = Binding(key.key_id, patient_id)
        with self._lock:
            if len(self._held) >= self.most:
                self._held.clear()
            self._held[key_id] = (now + self.seconds, key, binding)
        return key, binding


@dataclass(frozen=True)
class ResultSealer:
    """Seals with the patient's data key (made on their first result; kept for the unit of
    work, which may yet roll the new key back), opens with the key the record names."""

    keyring: KeyEncryptionKeys
    base_url: str  # the subjects' references are read as the index reads them
    types: frozenset[str] = SEALED
    opening: OpeningKeys = field(default_factory=lambda: OpeningKeys())

    def seal(
        self, session: Connection, place: Place, resource: dict[str, Any], plaintext: bytes
    ) -> bytes:
        patient_id = patient_of(session, self, place.resource_type, resource, self.base_url)
        keys = unit_cache(session, "sealing keys")
        found = keys.get(patient_id)
        if found is None:
            key = data_keys.key_for_sealing(session, self.keyring, patient_id, clock.now())
            found = keys[patient_id] = (key, Binding(key.key_id, patient_id))
        key, binding = found
        return envelope.seal_bound(key, plaintext, binding.of(place))

    def open_all(self, session: Connection, records: Sequence[tuple[Place, bytes]]) -> list[bytes]:
        opened: list[bytes] = []
        for run in _runs_under_one_key(records):
            key, binding = self.opening.get(session, self.keyring, envelope.key_id_of(run[0][1]))
            sealed = [content for _place, content in run]
            opened += envelope.open_many(key, sealed, binding.of_all(run))
        return opened


def _runs_under_one_key(
    records: Sequence[tuple[Place, bytes]],
) -> list[Sequence[tuple[Place, bytes]]]:
    """The records in runs that begin alike (the same key): a search's records are mostly one
    patient's, one run opened in one loop."""
    runs = []
    start = 0
    while start < len(records):
        header = envelope.key_header(records[start][1])
        end = start + 1
        while end < len(records) and records[end][1].startswith(header):
            end += 1
        runs.append(records[start:end])
        start = end
    return runs
