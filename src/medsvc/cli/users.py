"""The medsvc users commands: add, list, show, unlock, disable, enable, reset-password, unlink.
Each prints one JSON object on stdout; each but add is recorded in the audit trail as the
operating-system user's action on the account, in the transaction that does it."""

import argparse
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from medsvc import clock
from medsvc.audit import trail as audit_trail
from medsvc.audit.events import Access
from medsvc.cli.common import (
    COMMAND_CLIENT,
    CommandError,
    UnknownTarget,
    audit_server,
    existing_reference,
    json_command,
    os_user,
    writing,
)
from medsvc.fhir import new_id
from medsvc.identity import accounts as identity_accounts
from medsvc.identity import oidc_links
from medsvc.security import account_admin, accounts, signin_throttle, totp
from medsvc.security.context import AuthContext
from medsvc.security.tables import Account


def _linked(connection: Connection, args: argparse.Namespace) -> str | None:
    if args.patient:
        return existing_reference(connection, args.patient, "Patient")
    if args.practitioner:
        return existing_reference(connection, args.practitioner, "Practitioner")
    return None


def _password_from_stdin() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _users_add(args: argparse.Namespace) -> dict[str, Any]:
    password = _password_from_stdin()
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


def _record(interaction: str, action: str, account: Account | None) -> Access:
    """The command as the audit trail records it; a citizen's account names their Patient."""
    operator = AuthContext(subject=os_user(), client_id=COMMAND_CLIENT, is_platform=True)
    fhir_user = (account.fhir_user or "") if account else ""
    patient = fhir_user.split("/", 1)[1] if fhir_user.startswith("Patient/") else None
    return Access(
        interaction=interaction,
        status=200,
        request_id=new_id(),
        client_address=None,
        patients={patient} if patient else set(),
        ctx=operator,
        account=account.id if account else None,
        action=action,
    )


Change = Callable[[Connection, Account], dict[str, Any]]


def _on_account(username: str, interaction: str, action: str, change: Change) -> dict[str, Any]:
    """Runs the change on the named account, with its audit record, in one transaction."""
    server = audit_server()  # built before the transaction: SQLite's writers would wait
    with writing() as connection:
        account = accounts.find_account(connection, username)
        if account is None:
            raise UnknownTarget(f"no user named {username!r}")
        done = change(connection, account)
        audit_trail.append(connection, server, [_record(interaction, action, account)])
    return {"username": account.username} | done


def _users_list(_args: argparse.Namespace) -> dict[str, Any]:
    server = audit_server()
    with writing() as connection:
        found = account_admin.all_accounts(connection)
        audit_trail.append(connection, server, [_record("search-type", "list", None)])
    return {"users": [account_admin.summary(account) for account in found]}


def _users_show(args: argparse.Namespace) -> dict[str, Any]:
    def show(connection: Connection, account: Account) -> dict[str, Any]:
        waits = signin_throttle.throttled_addresses(connection, account.username, clock.now())
        proved = identity_accounts.proved_identity(connection, account.id)
        links = oidc_links.links_of(connection, account.id)
        return account_admin.summary(account) | {
            "failed_sign_ins": waits,
            "identity": proved,
            "external_links": links,
        }

    return _on_account(args.username, "read", "show", show)


def _users_unlock(args: argparse.Namespace) -> dict[str, Any]:
    def unlock(connection: Connection, account: Account) -> dict[str, Any]:
        return {"addresses_unlocked": signin_throttle.unlock(connection, account.username)}

    return _on_account(args.username, "update", "unlock", unlock)


def _users_disable(args: argparse.Namespace) -> dict[str, Any]:
    def disable(connection: Connection, account: Account) -> dict[str, Any]:
        revoked = account_admin.disable(connection, account, clock.now())
        return {"disabled": True, "grants_revoked": revoked}

    return _on_account(args.username, "update", "disable", disable)


def _users_enable(args: argparse.Namespace) -> dict[str, Any]:
    def enable(connection: Connection, account: Account) -> dict[str, Any]:
        account_admin.enable(connection, account)
        return {"disabled": False}

    return _on_account(args.username, "update", "enable", enable)


def _users_reset_password(args: argparse.Namespace) -> dict[str, Any]:
    password = _password_from_stdin()
    if not password:
        raise CommandError("no password on stdin")

    def reset(connection: Connection, account: Account) -> dict[str, Any]:
        revoked = account_admin.reset_password(connection, account, password, clock.now())
        return {"password_reset": True, "grants_revoked": revoked}

    return _on_account(args.username, "update", "reset-password", reset)


def _users_unlink(args: argparse.Namespace) -> dict[str, Any]:
    def unlink(connection: Connection, account: Account) -> dict[str, Any]:
        return {"links_removed": oidc_links.unlink(connection, account.id, args.issuer)}

    return _on_account(args.username, "update", "unlink-external-account", unlink)


def _add_parser(users: Any) -> None:
    add = users.add_parser("add", help="add an account; the password is read from stdin")
    add.add_argument("--role", choices=list(accounts.ROLES), required=True)
    add.add_argument("--username", required=True)
    add.add_argument("--password-stdin", action="store_true", required=True)
    link = add.add_mutually_exclusive_group()
    link.add_argument("--patient", help="Patient/ID the citizen's account is linked to")
    link.add_argument("--practitioner", help="Practitioner/ID the doctor's account is linked to")
    add.add_argument("--totp", action="store_true", help="require a one-time code (RFC 6238)")
    add.set_defaults(run=json_command(_users_add))


ON_ONE_ACCOUNT = {
    "show": (_users_show, "the account and where its failed sign-ins come from"),
    "unlock": (_users_unlock, "lift every sign-in wait that failures on the account set"),
    "disable": (_users_disable, "refuse its sign-ins and revoke every grant it has"),
    "enable": (_users_enable, "let a disabled account sign in again"),
}


def add_commands(commands: Any) -> None:
    users = commands.add_parser("users", help="people who sign in").add_subparsers(
        dest="users", required=True
    )
    _add_parser(users)
    users.add_parser("list", help="every account").set_defaults(run=json_command(_users_list))
    for name, (command, description) in ON_ONE_ACCOUNT.items():
        one = users.add_parser(name, help=description)
        one.add_argument("username")
        one.set_defaults(run=json_command(command))
    reset = users.add_parser(
        "reset-password",
        help="a new password, read from stdin; revokes every grant and lifts every wait",
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", required=True)
    reset.set_defaults(run=json_command(_users_reset_password))
    unlink = users.add_parser(
        "unlink", help="remove the account's links to another service's sign-in (OpenID Connect)"
    )
    unlink.add_argument("username")
    unlink.add_argument("--issuer", help="only the link to this issuer (default: every link)")
    unlink.set_defaults(run=json_command(_users_unlink))
