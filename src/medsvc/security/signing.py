"""The server's token-signing keys: RSA keys in a directory, the newest signs, all verify.

Every process of a deployment reads the same directory, so a key added by `medsvc tokens
rotate-key` (or by another worker on first start) is picked up on the next token issued or
checked. Old keys stay published until an operator removes their files, so tokens they
signed keep verifying until they expire.
"""

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

ALGORITHM = "RS256"  # what every OpenID Connect relying party must accept (OIDC Core 15.1)
KEY_BITS = 3072
SUFFIX = ".pem"


class SigningKeys:
    """The key directory, re-read whenever its modification time changes."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = threading.Lock()
        self._seen: float | None = None
        self._keys: list[RSAKey] = []

    def _load(self) -> list[RSAKey]:
        stamp = self.directory.stat().st_mtime if self.directory.exists() else None
        with self._lock:
            if stamp is None or stamp != self._seen:
                self._keys = _read_keys(self.directory) if stamp is not None else []
                self._seen = stamp
            return self._keys

    def active(self) -> RSAKey:
        """The key new tokens are signed with; created on first use if there is none."""
        keys = self._load()
        if not keys:
            ensure_key(self.directory)
            keys = self._load()
        return keys[-1]

    def key_set(self) -> KeySet:
        return KeySet(list(self._load()))

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [_public(k) for k in self._load()]}


def _public(key: RSAKey) -> dict[str, Any]:
    return {**key.as_dict(private=False), "use": "sig", "alg": ALGORITHM}


def _read_keys(directory: Path) -> list[RSAKey]:
    """Keys in the order they were made (file names start with the time in nanoseconds)."""
    keys = []
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        key = RSAKey.import_key(path.read_bytes())
        key.ensure_kid()
        keys.append(key)
    return keys


def _write_key(directory: Path) -> str:
    key = RSAKey.generate_key(KEY_BITS, private=True, auto_kid=True)
    kid = str(key.kid)
    name = f"{time.time_ns():020d}-{kid[:16]}{SUFFIX}"
    # Written under another name, then renamed: a process that re-reads the directory in
    # between sees no key rather than half of one.
    partial = directory / f"{name}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key.as_pem(private=True))
        file.flush()
        os.fsync(file.fileno())
    os.rename(partial, directory / name)
    return kid


def _locked(directory: Path) -> Any:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = (directory / ".lock").open("w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def ensure_key(directory: Path) -> None:
    """Creates the first key unless one exists; safe when several processes start at once."""
    with _locked(directory):
        if not any(directory.glob(f"*{SUFFIX}")):
            _write_key(directory)


def rotate(directory: Path) -> str:
    """Adds a new key, which signs from now on; returns its kid."""
    with _locked(directory):
        return _write_key(directory)
