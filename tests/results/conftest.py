"""What the results tests share with the security tests: apps whose callers act under a
chosen context (a hospital system)."""

from tests.security.conftest import acting_as

__all__ = ["acting_as"]
