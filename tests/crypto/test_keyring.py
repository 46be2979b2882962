"""Key-encryption keys in files: private to the owner, one first key however many processes
start, rotation seen by every process, and every version still unwrapping."""

import stat
import threading
import time
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from medsvc.crypto import keyring
from medsvc.crypto.keyring import FileKeyring, UnknownKey
from medsvc.kit import keyfiles

DATA_KEY = bytes(range(32))


def test_the_first_kek_is_made_on_first_use_private_to_the_owner(tmp_path: Path) -> None:
    directory = tmp_path / "kek"
    ring = FileKeyring(directory)
    assert ring.ids() == []
    active = ring.active()
    files = list(directory.glob("*.kek"))
    assert [keyfiles.key_id_of(f, ".kek") for f in files] == [active]
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_concurrent_starts_make_one_kek(tmp_path: Path) -> None:
    directory = tmp_path / "kek"
    actives: list[str] = []
    threads = [
        threading.Thread(target=lambda: actives.append(FileKeyring(directory).active()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(actives)) == 1
    assert len(list(directory.glob("*.kek"))) == 1


def test_rotation_is_seen_by_another_process_view_and_old_versions_unwrap(tmp_path: Path) -> None:
    directory = tmp_path / "kek"
    serving = FileKeyring(directory)
    first = serving.active()
    wrapped = serving.wrap(first, DATA_KEY, b"context")
    second = keyring.rotate(directory)
    assert second != first
    assert serving.active() == second
    assert serving.ids() == [first, second]
    assert serving.unwrap(first, wrapped, b"context") == DATA_KEY


def test_unwrap_fails_closed(tmp_path: Path) -> None:
    ring = FileKeyring(tmp_path / "kek")
    active = ring.active()
    wrapped = ring.wrap(active, DATA_KEY, b"patient p1")
    assert DATA_KEY not in wrapped
    with pytest.raises(InvalidTag):
        ring.unwrap(active, wrapped, b"patient p2")
    with pytest.raises(InvalidTag):
        ring.unwrap(active, wrapped[:-1] + bytes([wrapped[-1] ^ 1]), b"patient p1")
    with pytest.raises(UnknownKey):
        ring.unwrap("not-a-kek", wrapped, b"patient p1")
    with pytest.raises(InvalidTag):
        ring.unwrap(keyring.rotate(tmp_path / "kek"), wrapped, b"patient p1")


def test_a_version_another_process_adds_unwraps_at_once_and_a_removed_one_stops(
    tmp_path: Path,
) -> None:
    """Unwrapping looks at the directory at most once a second, and at once for a version it
    does not hold; a version's file removed stops unwrapping within that second."""
    directory = tmp_path / "kek"
    here, there = FileKeyring(directory), FileKeyring(directory)
    first = here.active()
    by_first = here.wrap(first, DATA_KEY, b"p1")
    assert here.unwrap(first, by_first, b"p1") == DATA_KEY  # here has just read the directory
    second = keyring.rotate(directory)
    by_second = there.wrap(there.active(), DATA_KEY, b"p2")
    assert there.active() == second
    assert here.unwrap(second, by_second, b"p2") == DATA_KEY
    next(directory.glob(f"*-{first}.kek")).unlink()
    time.sleep(keyfiles.RECHECK_SECONDS + 0.1)
    with pytest.raises(UnknownKey):
        here.unwrap(first, by_first, b"p1")
    assert here.unwrap(second, by_second, b"p2") == DATA_KEY
