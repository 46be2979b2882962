"""Blind index tokens: keyed HMAC-SHA256 of a searchable value, so the search index can match
a code or category by equality without holding it. What leaks is only which rows share a value.

The index key is not rotated with the key-encryption keys: every stored token depends on it,
so changing it means re-indexing every sealed resource.
"""

import base64
import hashlib
import hmac
import os
from pathlib import Path

from medsvc.kit import keyfiles

SUFFIX = ".hmac"


class BlindIndex:
    def __init__(self, key: bytes):
        if len(key) < 32:
            raise ValueError("a blind index key has at least 256 bits")
        self._key = key

    def token(self, purpose: str, value: str) -> str:
        """The token of a value for one purpose (a search parameter): the same value gives
        different tokens for different purposes."""
        message = purpose.encode("utf-8") + b"\0" + value.encode("utf-8")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def load_or_create(directory: Path) -> BlindIndex:
    """The deployment's index key, made on first use (mode 0600) beside the KEKs."""
    with keyfiles.locked(directory):
        found = keyfiles.oldest_first(directory, SUFFIX)
        if not found:
            secret = base64.b64encode(os.urandom(32))
            found = [keyfiles.write_new(directory, "index", SUFFIX, secret)]
    return BlindIndex(base64.b64decode(found[0].read_bytes()))
