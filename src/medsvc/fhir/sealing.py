"""Sealed content at the store's edge: versions of the sealed types are sealed as they are
written and opened as they are read, by the sealer the engine runs with (FhirServer.sealer).

The FHIR layer only decides where; a domain marks the sealed types' definitions and supplies
the sealer (whose key, the cryptography). Without one, a sealed type is neither written nor
read: a process put together without its sealer stores nothing in plaintext.
"""

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection

from medsvc.crypto.envelope import FORMAT, SealBroken
from medsvc.fhir.definitions import ResourceDefinition

_SEALED_MARK = bytes([FORMAT])  # stored JSON starts with "{"; a sealed record with its format


class Place(NamedTuple):
    """Where a version is stored: what its sealed bytes are bound to. A tuple: a search makes
    one for every record it opens."""

    resource_type: str
    id: str
    version_id: int


class Sealer(Protocol):
    @property
    def types(self) -> frozenset[str]: ...

    def seal(
        self, session: Connection, place: Place, resource: dict[str, Any], plaintext: bytes
    ) -> bytes: ...

    def open_all(
        self, session: Connection, records: Sequence[tuple[Place, bytes]]
    ) -> list[bytes]: ...


class NoSealer(RuntimeError):
    """A sealed type was written without a sealer."""


def seal(
    session: Connection,
    sealer: Sealer | None,
    definition: ResourceDefinition,
    place: Place,
    resource: dict[str, Any],
    plaintext: bytes,
) -> bytes:
    """What the store writes for this version: sealed bytes for a sealed type, else as given."""
    if not definition.sealed:
        return plaintext
    if sealer is None or place.resource_type not in sealer.types:
        raise NoSealer(f"{place.resource_type} is stored sealed, and no sealer is installed")
    return sealer.seal(session, place, resource, plaintext)


def is_sealed(content: bytes) -> bool:
    return content[:1] == _SEALED_MARK


def opened(session: Connection, sealer: Sealer | None, place: Place, content: bytes) -> bytes:
    """The JSON of a stored version. A sealed record that does not open, or a sealed type
    stored in plaintext, raises SealBroken: never data from the wrong place."""
    return opened_all(session, sealer, [(place, content)])[0]


def opened_all(
    session: Connection, sealer: Sealer | None, records: Sequence[tuple[Place, bytes]]
) -> list[bytes]:
    """The JSON of stored versions, in order; the sealed ones opened together (a search opens
    tens of one patient's records, under one key)."""
    sealed_at = _sealed_positions(sealer, records)
    if sealer is None or not sealed_at:
        return [content for _place, content in records]
    if len(sealed_at) == len(records):
        return sealer.open_all(session, records)
    contents = [content for _place, content in records]
    opened = sealer.open_all(session, [records[n] for n in sealed_at])
    for n, content in zip(sealed_at, opened, strict=True):
        contents[n] = content
    return contents


def _sealed_positions(sealer: Sealer | None, records: Sequence[tuple[Place, bytes]]) -> list[int]:
    """Where the sealed records are; SealBroken for a sealed record without a sealer to open
    it, or a sealed type's version stored without its seal."""
    sealed_types = sealer.types if sealer is not None else frozenset()
    positions = []
    for n, (place, content) in enumerate(records):
        if is_sealed(content):
            if sealer is None:
                raise SealBroken(f"{place.resource_type} is sealed, and no sealer is installed")
            positions.append(n)
        elif place.resource_type in sealed_types:
            raise SealBroken(f"a {place.resource_type} version is stored without its seal")
    return positions
