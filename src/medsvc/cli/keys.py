"""The medsvc keys commands: status, rotate and rewrap of the key-encryption keys that wrap
the patients' data keys. Each prints one JSON object on stdout."""

import argparse
from typing import Any

from medsvc.cli.common import json_command, writing
from medsvc.config import get_settings
from medsvc.crypto import data_keys, keyring
from medsvc.db import Database
from medsvc.kit import migrate


def _keys_status(_args: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings()
    ring = keyring.FileKeyring(settings.kek_directory)
    migrate.upgrade(settings.database_url)
    database = Database(settings)
    try:
        with database.session(write=False) as connection:
            counts = data_keys.count_by_kek(connection)
    finally:
        database.dispose()
    held = ring.ids()
    return {
        "directory": str(settings.kek_directory),
        "active": held[-1] if held else None,
        "keks": [{"id": k, "data_keys": counts.get(k, 0)} for k in held],
        "data_keys_under_missing_keks": {k: n for k, n in counts.items() if k not in held},
    }


def _keys_rotate(_args: argparse.Namespace) -> dict[str, Any]:
    directory = get_settings().kek_directory
    return {"active": keyring.rotate(directory), "directory": str(directory)}


def _keys_rewrap(args: argparse.Namespace) -> dict[str, Any]:
    """Batch after batch, each committed: interrupted, it goes on where it stopped."""
    ring = keyring.FileKeyring(get_settings().kek_directory)
    done = 0
    while True:
        with writing() as connection:
            count = data_keys.rewrap_batch(connection, ring, args.batch)
        done += count
        if count < args.batch:
            return {"active": ring.active(), "rewrapped": done}


def add_commands(commands: Any) -> None:
    keys = commands.add_parser(
        "keys", help="key-encryption keys of the results' data keys"
    ).add_subparsers(dest="keys", required=True)
    keys.add_parser("status", help="data keys per key-encryption key").set_defaults(
        run=json_command(_keys_status)
    )
    keys.add_parser(
        "rotate", help="add a key-encryption key that wraps new data keys from now on"
    ).set_defaults(run=json_command(_keys_rotate))
    rewrap = keys.add_parser(
        "rewrap", help="re-wrap every data key under the active key-encryption key, in batches"
    )
    rewrap.add_argument("--batch", type=int, default=data_keys.REWRAP_BATCH)
    rewrap.set_defaults(run=json_command(_keys_rewrap))
