"""The medsvc command: serve, worker, db upgrade, db check, db reindex, demo load,
(cli_users) users, (cli_access) clients, tokens and audit, (cli_keys) keys, (cli_patients)
patients, (cli_proxies) proxies and (cli_break_glass) break-glass."""

import argparse
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Sequence

import httpx
import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from medsvc.cli import access as cli_access
from medsvc.cli import break_glass as cli_break_glass
from medsvc.cli import demo_access
from medsvc.cli import keys as cli_keys
from medsvc.cli import patients as cli_patients
from medsvc.cli import proxies as cli_proxies
from medsvc.cli import users as cli_users
from medsvc.config import ConfigurationError, get_settings, settings_problem
from medsvc.kit import migrate
from medsvc.security.context import local_trial_refusal

log = logging.getLogger("medsvc.cli")


# The signals that stop `medsvc worker`: Ctrl-C, and a supervisor's stop.
STOPPING = {signal.SIGINT, signal.SIGTERM}


def _serve(args: argparse.Namespace) -> int:
    from medsvc.assembly import check_settings
    from medsvc.cli.serving import uvicorn_options

    settings = get_settings()
    refusal = local_trial_refusal(settings, args.host)
    if refusal:
        print(f"medsvc: {refusal}", file=sys.stderr)
        return 2
    check_settings(settings)
    migrate.upgrade(settings.database_url)
    if settings.auth_mode == "open":
        print(
            "medsvc: OPEN MODE - no sign-in, every caller acts as the platform. Local trial only.",
            file=sys.stderr,
        )
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"medsvc: listening on http://{host}:{args.port}, FHIR base {settings.base_url}, "
        f"the app at {settings.base_url.removesuffix('/fhir')}/app/",
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
        **uvicorn_options(settings),
    )
    return 0


def _worker(_args: argparse.Namespace) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler

    from medsvc import jobs
    from medsvc.assembly import check_settings, fhir_server
    from medsvc.db import Database

    # Blocked before any thread starts, so that every thread inherits the mask and the
    # signals wait for sigwait below: a handler raising in the main thread could land inside
    # the scheduler's own code, which swallows it (and a blocked SIGINT is kept even where a
    # shell's background job inherited it ignored).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    settings = get_settings()
    check_settings(settings)
    migrate.upgrade(settings.database_url)
    database = Database(settings)
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.schedule(scheduler, database, jobs.jobs(fhir_server(settings), settings))
    scheduler.start()
    print("medsvc: worker running the periodic jobs; Ctrl-C or SIGTERM stops it", file=sys.stderr)
    try:
        signal.sigwait(STOPPING)
    finally:
        scheduler.shutdown(wait=True)  # a job still running finishes its unit of work
        database.dispose()
    print("medsvc: worker stopped", file=sys.stderr)
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


def _db_reindex(args: argparse.Namespace) -> int:
    from medsvc.assembly import fhir_server
    from medsvc.db import Database
    from medsvc.fhir import reindex_batch
    from medsvc.results.at_rest import SEALED

    settings = get_settings()
    database = Database(settings)
    server = fhir_server(settings)
    types = args.type or sorted(SEALED - {"Binary"})
    unknown = [t for t in types if server.definitions.resource(t) is None]
    if unknown:
        print(f"medsvc: not a resource type of this server: {', '.join(unknown)}", file=sys.stderr)
        database.dispose()
        return 2
    migrate.upgrade(settings.database_url)
    done: dict[str, int] = {}
    try:
        for resource_type in types:
            last, done[resource_type] = 0, 0
            while True:
                with database.session(write=True) as session:
                    keys = reindex_batch(server, session, resource_type, last, args.batch)
                if not keys:
                    break
                done[resource_type] += len(keys)
                last = keys[-1]
    finally:
        database.dispose()
    print(json.dumps({"reindexed": done}))
    return 0


def _demo_load(_args: argparse.Namespace) -> int:
    from medsvc.cli import demo

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    loaded = demo.load(settings)
    access = loaded.pop("access")
    print(json.dumps(loaded))
    print(demo_access.how_to(settings, access), file=sys.stderr)
    return 0


def _demo_token(args: argparse.Namespace) -> int:
    settings = get_settings()
    state = demo_access.load_state()
    if state is None:
        print("medsvc: no demo access yet: run `medsvc demo load` first", file=sys.stderr)
        return 2
    try:
        if args.system:
            issued = demo_access.system_token(settings, state)
        else:
            password = state["passwords"].get(args.username) or sys.stdin.readline().strip()
            issued = demo_access.person_token(settings, state, args.username, password)
    except (httpx.HTTPError, RuntimeError) as error:
        print(f"medsvc: no token: {error} (is `medsvc serve` running?)", file=sys.stderr)
        return 1
    print(json.dumps(issued))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="medsvc", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)
    commands.add_parser(
        "worker", help="run the periodic jobs (holds, reminders, templates) until stopped"
    ).set_defaults(run=_worker)
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="apply every pending migration").set_defaults(run=_db_upgrade)
    db.add_parser("check", help="exit 1 when the models and the migrations differ").set_defaults(
        run=_db_check
    )
    reindex = db.add_parser(
        "reindex", help="rewrite the search index of stored resources from their content"
    )
    reindex.add_argument(
        "--type",
        action="append",
        default=None,
        help="a resource type (repeatable); default: the results' types",
    )
    reindex.add_argument("--batch", type=int, default=500, help="resources per transaction")
    reindex.set_defaults(run=_db_reindex)
    demo = commands.add_parser("demo", help="demonstration data").add_subparsers(
        dest="demo", required=True
    )
    demo.add_parser(
        "load", help="load the demo directory, slots, people and clients (idempotent)"
    ).set_defaults(run=_demo_load)
    token = demo.add_parser("token", help="get a token from the running server, as the demo")
    who = token.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--username", help="a demo person (a password not in the demo is read from stdin)"
    )
    who.add_argument("--system", action="store_true", help="the demo hospital's system client")
    token.set_defaults(run=_demo_token)
    cli_users.add_commands(commands)
    cli_access.add_commands(commands)
    cli_keys.add_commands(commands)
    cli_patients.add_commands(commands)
    cli_proxies.add_commands(commands)
    cli_break_glass.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command; settings it cannot use end it with one line naming the setting and
    exit status 2, never a traceback."""
    args = parser().parse_args(argv)
    try:
        get_settings()  # every command reads them: a bad value is found before any work
        return int(args.run(args))
    except ValidationError as error:
        return _refuse(settings_problem(error))
    except ConfigurationError as error:
        return _refuse(str(error))
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "unreachable"
        return _refuse(f"MEDSVC_DATABASE_URL: the database cannot be used: {reason}")


def _refuse(problem: str) -> int:
    print(f"medsvc: {problem}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
