"""Sealed records: AES-256-GCM under a data key, with a fresh 96-bit nonce and associated
data that binds the record to its place, so a ciphertext moved elsewhere fails to open.

Sealed format (version 1):

    0x01 | key id length (1 byte) | key id (ASCII) | nonce (12 bytes) | ciphertext and tag

The associated data is the canonical JSON of the format version, the key id and the caller's
context (opaque ids only: patient, resource type, id, version), never a value of the record.
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
NONCE_BYTES = 12  # NIST SP 800-38D 5.2.1.1: 96-bit IVs, from a random bit generator (8.2.2)
TAG_BYTES = 16  # the full 128-bit tag (SP 800-38D 5.2.1.2)
MAX_KEY_ID = 255


class SealBroken(Exception):
    """A sealed record did not open: changed, moved, truncated or under another key. It never
    yields data; callers treat it as a fault of the store, not of the request."""


@dataclass(frozen=True)
class DataKey:
    key_id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # the secret stays out of logs and tracebacks
        return f"DataKey({self.key_id!r})"

    @cached_property
    def header(self) -> bytes:
        """How every record sealed under this key begins: format, key id length, key id."""
        key_id = self.key_id.encode("ascii")
        return bytes([FORMAT, len(key_id)]) + key_id

    @cached_property
    def cipher(self) -> AESGCM:
        """Made once per key: a search opens tens of records under one."""
        return AESGCM(self.secret)


def associated(key_id: str, context: Mapping[str, str]) -> bytes:
    """The associated data of a record sealed under this key id in this context."""
    return orjson.dumps({**context, "format": FORMAT, "key": key_id}, option=orjson.OPT_SORT_KEYS)


def seal(key: DataKey, plaintext: bytes, context: Mapping[str, str]) -> bytes:
    return seal_bound(key, plaintext, associated(key.key_id, context))


def seal_bound(key: DataKey, plaintext: bytes, associated_data: bytes) -> bytes:
    """seal, with the associated data already made (associated)."""
    if not 0 < len(key.key_id.encode("ascii")) <= MAX_KEY_ID:
        raise ValueError("a data key id is 1 to 255 ASCII characters")
    nonce = os.urandom(NONCE_BYTES)
    return key.header + nonce + key.cipher.encrypt(nonce, plaintext, associated_data)


def key_header(sealed: bytes) -> bytes:
    """The record's format, key id length and key id, as it begins (DataKey.header)."""
    if (
        len(sealed) < 2
        or sealed[0] != FORMAT
        or len(sealed) < 2 + sealed[1] + NONCE_BYTES + TAG_BYTES
    ):
        raise SealBroken("not a sealed record of a known format")
    return sealed[: 2 + sealed[1]]


def key_id_of(sealed: bytes) -> str:
    """The id of the data key a record was sealed under."""
    try:
        return key_header(sealed)[2:].decode("ascii")
    except UnicodeDecodeError:
        raise SealBroken("not a sealed record of a known format") from None


def open_sealed(key: DataKey, sealed: bytes, context: Mapping[str, str]) -> bytes:
    return open_bound(key, sealed, associated(key.key_id, context))


def open_bound(key: DataKey, sealed: bytes, associated_data: bytes) -> bytes:
    """open_sealed, with the associated data already made (associated)."""
    return open_many(key, [sealed], [associated_data])[0]


def open_many(
    key: DataKey, sealed: Sequence[bytes], associated_data: Sequence[bytes]
) -> list[bytes]:
    """Records sealed under one key, with their associated data, opened in one loop: a search
    opens tens of a patient's records, and a call per record costs as much as decrypting."""
    header = key.header
    nonce_at = len(header)
    body_at = nonce_at + NONCE_BYTES
    decrypt = key.cipher.decrypt
    opened = []
    try:
        for record, associated in zip(sealed, associated_data, strict=True):
            if len(record) < body_at + TAG_BYTES or not record.startswith(header):
                raise SealBroken("sealed under another data key, or not a sealed record")
            opened.append(decrypt(record[nonce_at:body_at], record[body_at:], associated))
    except InvalidTag:
        raise SealBroken("the sealed record does not open in this place") from None
    return opened
