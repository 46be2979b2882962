"""keys status, rotate and rewrap, run as real processes against the test database."""

import json
from pathlib import Path

from medsvc import clock
from medsvc.crypto import data_keys
from medsvc.crypto.envelope import open_sealed, seal
from medsvc.crypto.keyring import FileKeyring
from tests.cli.test_main import medsvc
from tests.conftest import Backend

PLACE = {"patient": "", "type": "Observation", "id": "o1", "version": "1"}


def keys(backend: Backend, kek_dir: Path, *args: str) -> dict:
    env = {"MEDSVC_DATABASE_URL": backend.url, "MEDSVC_KEK_DIR": str(kek_dir)}
    result = medsvc("keys", *args, cwd=kek_dir.parent, env=env)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_rotate_then_rewrap_moves_every_data_key_and_keeps_them_opening(
    clean: Backend, tmp_path: Path
) -> None:
    kek_dir = tmp_path / "kek"
    ring = FileKeyring(kek_dir)
    patients = [f"p{n}" for n in range(5)]
    with clean.database.session(write=True) as session:
        sealed = {
            p: seal(
                data_keys.key_for_sealing(session, ring, p, clock.now()),
                p.encode(),
                {**PLACE, "patient": p},
            )
            for p in patients
        }
    first = ring.active()
    assert keys(clean, kek_dir, "status")["keks"] == [{"id": first, "data_keys": 5}]
    second = keys(clean, kek_dir, "rotate")["active"]
    status = keys(clean, kek_dir, "status")
    assert status["active"] == second
    assert status["keks"] == [{"id": first, "data_keys": 5}, {"id": second, "data_keys": 0}]
    assert keys(clean, kek_dir, "rewrap", "--batch", "2") == {"active": second, "rewrapped": 5}
    assert keys(clean, kek_dir, "status")["keks"][1] == {"id": second, "data_keys": 5}
    assert keys(clean, kek_dir, "rewrap")["rewrapped"] == 0
    with clean.database.session(write=False) as session:
        for p in patients:
            key = data_keys.key_for_opening(session, ring, p)
            assert open_sealed(key, sealed[p], {**PLACE, "patient": p}) == p.encode()


def test_status_names_data_keys_whose_kek_is_missing(clean: Backend, tmp_path: Path) -> None:
    ring = FileKeyring(tmp_path / "kek")
    with clean.database.session(write=True) as session:
        data_keys.key_for_sealing(session, ring, "p1", clock.now())
    lost = ring.active()
    next((tmp_path / "kek").glob("*.kek")).unlink()
    status = keys(clean, tmp_path / "kek", "status")
    assert status["keks"] == []
    assert status["data_keys_under_missing_keks"] == {lost: 1}
