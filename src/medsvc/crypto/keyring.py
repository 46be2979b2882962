"""Key-encryption keys (KEKs): versioned keys held outside the database that wrap the
patients' data keys. The interface is what a KMS offers (wrap and unwrap under a named key
version); the embedded default keeps each version in a file of its own."""

import base64
import os
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medsvc.kit import keyfiles

SUFFIX = ".kek"
NONCE_BYTES = 12


class UnknownKey(Exception):
    """A data key is wrapped under a key-encryption key this keyring does not hold."""


class KeyEncryptionKeys(Protocol):
    """What the data keys need of a KMS: which version wraps new keys, and wrap and unwrap
    under a named version. Unwrap raises (cryptography's InvalidTag, or UnknownKey) rather
    than return a wrong key."""

    def active(self) -> str: ...

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes: ...


class FileKeyring:
    """KEKs as files (mode 0600) in a directory; the newest wraps, every one unwraps.

    Every process of a deployment reads the same directory: a version added by `medsvc keys
    rotate` is used for new data keys from the next one made, in every process.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self._held: keyfiles.Watched[dict[str, AESGCM]] = keyfiles.Watched(directory, _read, {})

    def ids(self) -> list[str]:
        """Every version held, oldest first."""
        return list(self._held.checked())

    def active(self) -> str:
        keys = self._held.checked()
        if not keys:
            ensure_kek(self.directory)
            keys = self._held.checked()
        return list(keys)[-1]

    def _key(self, kek_id: str) -> AESGCM:
        """The version named: as last read, or read again at once when it is not held (a
        version another process has just added)."""
        key = self._held.current().get(kek_id) or self._held.checked().get(kek_id)
        if key is None:
            raise UnknownKey(f"key-encryption key {kek_id} is not in {self.directory}")
        return key

    def wrap(self, kek_id: str, data_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._key(kek_id).encrypt(nonce, data_key, context)

    def unwrap(self, kek_id: str, wrapped: bytes, context: bytes) -> bytes:
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        return self._key(kek_id).decrypt(nonce, sealed, context)


def _read(directory: Path) -> dict[str, AESGCM]:
    return {
        keyfiles.key_id_of(path, SUFFIX): AESGCM(base64.b64decode(path.read_bytes()))
        for path in keyfiles.oldest_first(directory, SUFFIX)
    }


def _write_kek(directory: Path) -> str:
    kek_id = os.urandom(6).hex()
    secret = base64.b64encode(AESGCM.generate_key(bit_length=256))
    keyfiles.write_new(directory, kek_id, SUFFIX, secret)
    return kek_id


def ensure_kek(directory: Path) -> None:
    """Creates the first KEK unless one exists; safe when several processes start at once."""
    keyfiles.ensure_first(directory, SUFFIX, _write_kek)


def rotate(directory: Path) -> str:
    """Adds a KEK version, which wraps every data key made from now on; returns its id.
    Existing data keys stay wrapped under older versions until they are re-wrapped."""
    return keyfiles.add(directory, _write_kek)
