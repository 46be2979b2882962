"""Signing keys: created once with owner-only permissions, rotated without breaking the
tokens the old key signed, and shared by every process reading the directory."""

import stat
import threading
from pathlib import Path

from medsvc.security import signing


def test_first_key_is_private_to_the_owner(tmp_path: Path) -> None:
    keys = signing.SigningKeys(tmp_path / "signing")
    active = keys.active()
    files = list((tmp_path / "signing").glob("*.pem"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert keys.public_jwks()["keys"][0]["kid"] == active.kid
    assert "d" not in keys.public_jwks()["keys"][0]


def test_concurrent_starts_make_one_key(tmp_path: Path) -> None:
    directory = tmp_path / "signing"
    threads = [threading.Thread(target=signing.ensure_key, args=(directory,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(list(directory.glob("*.pem"))) == 1


def test_rotation_is_seen_by_another_process_view(tmp_path: Path) -> None:
    directory = tmp_path / "signing"
    first_view, second_view = signing.SigningKeys(directory), signing.SigningKeys(directory)
    old = first_view.active()
    assert second_view.active().kid == old.kid
    new_kid = signing.rotate(directory)
    assert first_view.active().kid == new_kid == second_view.active().kid
    assert [k["kid"] for k in second_view.public_jwks()["keys"]] == [old.kid, new_kid]


def test_a_key_being_written_is_not_read(tmp_path: Path) -> None:
    directory = tmp_path / "signing"
    kid = signing.rotate(directory)
    assert not list(directory.glob("*.partial"))  # rotate leaves none of its own behind
    (directory / "99999999999999999999-half.pem.partial").write_bytes(b"-----BEGIN PRIV")
    keys = signing.SigningKeys(directory)
    assert keys.active().kid == kid
    assert [k["kid"] for k in keys.public_jwks()["keys"]] == [kid]
