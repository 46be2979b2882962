"""Secret key files in a directory: written whole (mode 0600) or not at all, listed in the
order they were made, and changed under a lock that every process of a deployment shares."""

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


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
