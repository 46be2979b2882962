"""The medsvc command: serve, db upgrade, db check, demo load, and (cli_access) users,
clients and tokens."""

import argparse
import json
import logging
import sys
import tempfile
from collections.abc import Sequence

import uvicorn

from medsvc import cli_access, migrate
from medsvc.config import get_settings
from medsvc.security.context import open_mode_refusal

log = logging.getLogger("medsvc.cli")


def _serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    refusal = open_mode_refusal(settings, args.host)
    if refusal:
        print(f"medsvc: {refusal}", file=sys.stderr)
        return 2
    migrate.upgrade(settings.database_url)
    if settings.auth_mode == "open":
        print(
            "medsvc: OPEN MODE - no sign-in, every caller acts as the platform. Local trial only.",
            file=sys.stderr,
        )
    uvicorn.run(
        "medsvc.app:asgi_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
    )
    return 0


def _db_upgrade(_args: argparse.Namespace) -> int:
    migrate.upgrade(get_settings().database_url)
    return 0


def _db_check(_args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as directory:
        found = migrate.check_on_scratch_database(directory)
    if found:
        print(f"medsvc: the models and the migrations differ: {found}", file=sys.stderr)
        return 1
    print("medsvc: the models and the migrations agree")
    return 0


def _demo_load(_args: argparse.Namespace) -> int:
    from medsvc import demo

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    print(json.dumps(demo.load(settings)))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="medsvc", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply every pending migration").set_defaults(run=_db_upgrade)
    db.add_parser("check", help="exit 1 when the models and the migrations differ").set_defaults(
        run=_db_check
    )
    demo = commands.add_parser("demo", help="demonstration data").add_subparsers(
        dest="demo", required=True
    )
    demo.add_parser("load", help="load the demo directory and slots (idempotent)").set_defaults(
        run=_demo_load
    )
    cli_access.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
