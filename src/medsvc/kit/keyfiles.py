"""Secret key files in a directory: written whole (mode 0600) or not at all, listed in the
order they were made, changed under a lock that every process of a deployment shares, and
read again by each process when the directory changes."""

import fcntl
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
# How long a process uses what it read before it looks at the directory again, on the paths
# that use a key on every request (a token verified, a data key unwrapped).
RECHECK_SECONDS = 1.0


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Holds the directory's lock: processes starting at once make one first key, not two."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (directory / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write_new(directory: Path, key_id: str, suffix: str, secret: bytes) -> Path:
    """Writes a new key file named by the time and key_id, so that names sort by age."""
    name = f"{time.time_ns():020d}-{key_id}{suffix}"
    # Written under another name, then renamed: a process that re-reads the directory in
    # between sees no key rather than half of one.
    partial = directory / f"{name}.partial"
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(secret)
        file.flush()
        os.fsync(file.fileno())
    os.rename(partial, directory / name)
    return directory / name


def oldest_first(directory: Path, suffix: str) -> list[Path]:
    return sorted(directory.glob(f"*{suffix}")) if directory.exists() else []


def key_id_of(path: Path, suffix: str) -> str:
    """The key id in a name written by write_new."""
    return path.name.removesuffix(suffix).partition("-")[2]


def ensure_first(directory: Path, suffix: str, write: Callable[[Path], object]) -> None:
    """Writes the first key unless one exists; safe when several processes start at once."""
    with locked(directory):
        if not oldest_first(directory, suffix):
            write(directory)


def add(directory: Path, write: Callable[[Path], T]) -> T:
    """Writes one more key (which is the newest) under the directory's lock."""
    with locked(directory):
        return write(directory)


class Watched(Generic[T]):
    """What a key directory holds, as read(directory) makes of it, read again whenever the
    directory's modification time has changed (a key added, renamed into place or removed).

    checked() looks at that time on every call: for what is rare and must see a key just
    added (signing with the newest key, publishing them). current() looks at it at most once
    a RECHECK_SECONDS: for what happens on every request, which would otherwise ask the file
    system twice a request, and on the event loop, under load, wait for the interpreter each
    time. A key removed stops being used within that time.
    """

    def __init__(self, directory: Path, read: Callable[[Path], T], empty: T):
        self.directory = directory
        self._read = read
        self._empty = empty
        self._value = empty
        self._lock = threading.Lock()
        self._seen: float | None = None
        self._checked_at = -math.inf

    def checked(self) -> T:
        stamp = self.directory.stat().st_mtime if self.directory.exists() else None
        with self._lock:
            if stamp is None or stamp != self._seen:
                self._value = self._read(self.directory) if stamp is not None else self._empty
                self._seen = stamp
            self._checked_at = time.monotonic()
            return self._value

    def current(self) -> T:
        if time.monotonic() - self._checked_at < RECHECK_SECONDS:
            return self._value
        return self.checked()
