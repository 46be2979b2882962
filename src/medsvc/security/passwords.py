"""Password hashing: Argon2id at OWASP's parameters, and checks that take the same time
whether or not the account exists."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB of memory, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _decoy() -> str:
    """Checked against when the account does not exist, so that an unknown username costs
    one Argon2 computation, as a wrong password does."""
    return HASHER.hash("medsvc decoy password")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; with no stored hash, spends the same time and fails."""
    try:
        return HASHER.verify(stored_hash or _decoy(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
