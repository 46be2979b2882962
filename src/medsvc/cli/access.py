"""The medsvc commands of access: clients add-app, clients add-system, tokens rotate-key and
audit verify. Each prints one JSON object on stdout."""

import argparse
import json
from pathlib import Path
from typing import Any

from medsvc import clock
from medsvc.audit import trail as audit_trail
from medsvc.cli.common import CommandError, CommandFailed, existing_reference, json_command, writing
from medsvc.config import get_settings
from medsvc.db import Database
from medsvc.security import clients, signing


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
