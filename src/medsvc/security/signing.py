"""The server's token-signing keys: RSA keys in a directory, the newest signs, all verify.

Every process of a deployment reads the same directory, so a key added by `medsvc tokens
rotate-key` (or by another worker on first start) is picked up on the next token issued or
checked. Old keys stay published until an operator removes their files, so tokens they
signed keep verifying until they expire.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from medsvc.kit import keyfiles

ALGORITHM = "RS256"  # what every OpenID Connect relying party must accept (OIDC Core 15.1)
KEY_BITS = 3072
SUFFIX = ".pem"


@dataclass(frozen=True)
class _Held:
    keys: list[RSAKey]  # oldest first
    key_set: KeySet
    kids: frozenset[str]


def _held(directory: Path) -> _Held:
    keys = _read_keys(directory)
    return _Held(keys, KeySet(list(keys)), frozenset(str(k.kid) for k in keys))


class SigningKeys:
    """The key directory, re-read whenever its modification time changes."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._held = keyfiles.Watched(directory, _held, _Held([], KeySet([]), frozenset()))

    def active(self) -> RSAKey:
        """The key new tokens are signed with; created on first use if there is none."""
        keys = self._held.checked().keys
        if not keys:
            ensure_key(self.directory)
            keys = self._held.checked().keys
        return keys[-1]

    def verifying(self, kid: str | None) -> KeySet:
        """The keys a token naming kid is verified with: as last read, and read again at once
        for a kid not among them (a key another process has just added and signs with)."""
        held = self._held.current()
        if kid not in held.kids:
            held = self._held.checked()
        return held.key_set

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [_public(k) for k in self._held.checked().keys]}


def _public(key: RSAKey) -> dict[str, Any]:
    return {**key.as_dict(private=False), "use": "sig", "alg": ALGORITHM}


def _read_keys(directory: Path) -> list[RSAKey]:
    """Keys in the order they were made."""
    keys = []
    for path in keyfiles.oldest_first(directory, SUFFIX):
        key = RSAKey.import_key(path.read_bytes())
        key.ensure_kid()
        keys.append(key)
    return keys


def _write_key(directory: Path) -> str:
    key = RSAKey.generate_key(KEY_BITS, private=True, auto_kid=True)
    kid = str(key.kid)
    keyfiles.write_new(directory, kid[:16], SUFFIX, key.as_pem(private=True))
    return kid


def ensure_key(directory: Path) -> None:
    """Creates the first key unless one exists; safe when several processes start at once."""
    keyfiles.ensure_first(directory, SUFFIX, _write_key)


def rotate(directory: Path) -> str:
    """Adds a new key, which signs from now on; returns its kid."""
    return keyfiles.add(directory, _write_key)
