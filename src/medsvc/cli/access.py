"""The medsvc commands of access: clients add-app, clients add-system, tokens rotate-key,
audit verify, and what every command shares. Each prints one JSON object on stdout."""

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from medsvc import clock
from medsvc.audit import trail as audit_trail
from medsvc.config import get_settings
from medsvc.db import Database
from medsvc.fhir import references, store
from medsvc.kit import migrate
from medsvc.security import accounts, clients, signing


class CommandError(Exception):
    """A refusal to print on stderr, with exit status 2."""


class UnknownTarget(Exception):
    """What the command names does not exist: one line on stderr, exit status 1."""


class CommandFailed(Exception):
    """A check that found problems: its report goes to stdout, with exit status 1."""

    def __init__(self, report: dict[str, Any]):
        super().__init__(report)
        self.report = report


@contextmanager
def writing() -> Iterator[Connection]:
    """One write transaction on the configured database, migrated first."""
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    database = Database(settings)
    try:
        with database.session(write=True) as connection:
            yield connection
    finally:
        database.dispose()


def existing_reference(connection: Connection, reference: str, resource_type: str) -> str:
    """The reference, when it names a stored resource of the type: an Organization, a Patient
    or a Practitioner, none of them sealed, so read without a sealer."""
    target = references.local_target(reference, None)
    current = (
        store.read_current(connection, None, resource_type, target.id)
        if target is not None and target.type == resource_type and target.version is None
        else None
    )
    if current is None or current.deleted:
        raise CommandError(f"{reference} is not a {resource_type} on this server")
    return reference


def _scope(args: argparse.Namespace) -> str | None:
    return " ".join(args.scope) if args.scope else None


def _clients_add_app(args: argparse.Namespace) -> dict[str, Any]:
    with writing() as connection:
        made = clients.add_app(
            connection,
            clock.now(),
            name=args.name,
            redirect_uris=args.redirect_uri,
            scope=_scope(args),
            confidential=args.confidential,
        )
    result = {"client_id": made.client_id, "confidential": args.confidential}
    return result | ({"client_secret": made.client_secret} if made.client_secret else {})


def _read_jwks(path: str) -> dict[str, Any]:
    try:
        return dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise CommandError(f"cannot read the JWKS file {path}: {error}") from error


def _clients_add_system(args: argparse.Namespace) -> dict[str, Any]:
    by_url = args.jwks.startswith(("https://", "http://"))
    jwks = None if by_url else _read_jwks(args.jwks)
    with writing() as connection:
        if args.organization:
            existing_reference(connection, args.organization, "Organization")
        made = clients.add_system(
            connection,
            clock.now(),
            name=args.name,
            organization=args.organization,
            jwks=jwks,
            jwks_url=args.jwks if by_url else None,
            scope=_scope(args),
        )
    return {"client_id": made.client_id, "organization": args.organization}


def _audit_verify(_args: argparse.Namespace) -> dict[str, Any]:
    settings = get_settings()
    database = Database(settings)
    try:
        with database.session(write=False) as connection:
            records, problems = audit_trail.verify(connection)
    finally:
        database.dispose()
    if problems:
        raise CommandFailed({"records": records, "whole": False, "problems": problems})
    return {"records": records, "whole": True, "problems": []}


def _tokens_rotate_key(_args: argparse.Namespace) -> dict[str, Any]:
    directory = get_settings().keys_dir / "signing"
    return {"kid": signing.rotate(directory), "directory": str(directory)}


def json_command(command: Any) -> Any:
    """A command that prints its result as one JSON object; refusals exit 2, failed checks
    and unknown targets 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            print(json.dumps(command(args)))
        except CommandFailed as failed:
            print(json.dumps(failed.report))
            return 1
        except UnknownTarget as unknown:
            print(f"medsvc: {unknown}", file=sys.stderr)
            return 1
        except (CommandError, accounts.InvalidAccount, clients.InvalidRegistration) as error:
            print(f"medsvc: {error}", file=sys.stderr)
            return 2
        return 0

    return run


def add_commands(commands: Any) -> None:
    registered = commands.add_parser("clients", help="apps and hospital systems")
    kinds = registered.add_subparsers(dest="clients", required=True)
    app = kinds.add_parser("add-app", help="register an app (public with PKCE unless confidential)")
    app.add_argument("--name", required=True)
    app.add_argument("--redirect-uri", action="append", required=True)
    app.add_argument("--scope", action="append", help="scopes it may be granted (repeatable)")
    app.add_argument("--confidential", action="store_true", help="also give it a client secret")
    app.set_defaults(run=json_command(_clients_add_app))
    system = kinds.add_parser("add-system", help="register a hospital system (backend services)")
    system.add_argument("--name", required=True)
    system.add_argument("--organization", help="Organization/ID it acts for; none: the platform")
    system.add_argument(
        "--jwks", required=True, help="a JWKS file, or a JWKS URL (https, or http on loopback)"
    )
    system.add_argument("--scope", action="append", help="scopes it may be granted (repeatable)")
    system.set_defaults(run=json_command(_clients_add_system))

    trail = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit", required=True
    )
    trail.add_parser(
        "verify", help="check the hash chain; exit 1 on an altered, removed or reordered record"
    ).set_defaults(run=json_command(_audit_verify))

    tokens = commands.add_parser("tokens", help="token-signing keys").add_subparsers(
        dest="tokens", required=True
    )
    tokens.add_parser("rotate-key", help="add a signing key that signs from now on").set_defaults(
        run=json_command(_tokens_rotate_key)
    )
