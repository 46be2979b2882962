"""The medsvc commands of sign-in and access: users add, clients add-app, clients
add-system, tokens rotate-key, audit verify. Each prints one JSON object on stdout."""

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from medsvc import clock, migrate
from medsvc.config import get_settings
from medsvc.db import Database
from medsvc.fhir import audit_trail, references, store
from medsvc.security import accounts, clients, signing, totp


class CommandError(Exception):
    """A refusal to print on stderr, with exit status 2."""


class CommandNotFound(Exception):
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


def _existing(connection: Connection, reference: str, resource_type: str) -> str:
    target = references.local_target(reference, None)
    current = (
        store.read_current(connection, resource_type, target.id)
        if target is not None and target.type == resource_type and target.version is None
        else None
    )
    if current is None or current.deleted:
        raise CommandError(f"{reference} is not a {resource_type} on this server")
    return reference


def _linked(connection: Connection, args: argparse.Namespace) -> str | None:
    if args.patient:
        return _existing(connection, args.patient, "Patient")
    if args.practitioner:
        return _existing(connection, args.practitioner, "Practitioner")
    return None


def _users_add(args: argparse.Namespace) -> dict[str, Any]:
    password = sys.stdin.readline().rstrip("\r\n")
    secret = totp.new_secret() if args.totp else None
    with writing() as connection:
        link = _linked(connection, args)
        account_id = accounts.add_account(
            connection,
            clock.now(),
            role=args.role,
            username=args.username,
            password=password,
            fhir_user=link,
            totp_secret=secret,
        )
    username = accounts.normalise_username(args.username)
    made = {"id": account_id, "username": username, "role": args.role, "fhirUser": link}
    return made | ({"totp_uri": totp.provisioning_uri(secret, username)} if secret else {})


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
            _existing(connection, args.organization, "Organization")
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
    """A command that prints its result as one JSON object; refusals exit 2, failed checks and
    things not found 1."""

    def run(args: argparse.Namespace) -> int:
        try:
            print(json.dumps(command(args)))
        except CommandFailed as failed:
            print(json.dumps(failed.report))
            return 1
        except CommandNotFound as missing:
            print(f"medsvc: {missing}", file=sys.stderr)
            return 1
        except (CommandError, accounts.InvalidAccount, clients.InvalidRegistration) as error:
            print(f"medsvc: {error}", file=sys.stderr)
            return 2
        return 0

    return run


def add_commands(commands: Any) -> None:
    users = commands.add_parser("users", help="people who sign in").add_subparsers(
        dest="users", required=True
    )
    add = users.add_parser("add", help="add an account; the password is read from stdin")
    add.add_argument("--role", choices=list(accounts.ROLES), required=True)
    add.add_argument("--username", required=True)
    add.add_argument("--password-stdin", action="store_true", required=True)
    link = add.add_mutually_exclusive_group()
    link.add_argument("--patient", help="Patient/ID the citizen's account is linked to")
    link.add_argument("--practitioner", help="Practitioner/ID the doctor's account is linked to")
    add.add_argument("--totp", action="store_true", help="require a one-time code (RFC 6238)")
    add.set_defaults(run=json_command(_users_add))

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
