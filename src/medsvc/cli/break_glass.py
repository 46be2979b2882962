"""The medsvc break-glass command: the practitioners' emergency accesses to patients, listed
for review as one JSON object on stdout."""

import argparse
from typing import Any

from medsvc.access import break_glass
from medsvc.cli.common import CommandError, json_command
from medsvc.config import get_settings
from medsvc.db import Database
from medsvc.errors import Invalid
from medsvc.fhir.datetimes import parse_instant


def _list(args: argparse.Namespace) -> dict[str, Any]:
    try:
        since = parse_instant(args.since) if args.since else None
    except Invalid as error:
        raise CommandError(f"--since is not an instant: {error}") from error
    database = Database(get_settings())
    try:
        with database.session(write=False) as connection:
            return {"break_glass": break_glass.granted(connection, since)}
    finally:
        database.dispose()


def add_commands(commands: Any) -> None:
    glass = commands.add_parser(
        "break-glass", help="practitioners' emergency access to patients"
    ).add_subparsers(dest="break_glass", required=True)
    listing = glass.add_parser("list", help="every break-glass access, oldest first, for review")
    listing.add_argument("--since", help="only those granted from this instant on (ISO 8601)")
    listing.set_defaults(run=json_command(_list))
