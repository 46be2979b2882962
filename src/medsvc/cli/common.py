"""What every medsvc command shares: its errors and exit statuses, one JSON object on stdout,
a write transaction on the migrated database, and who an operator's action is recorded as."""

import argparse
import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from medsvc.config import get_settings
from medsvc.db import Database
from medsvc.fhir import FhirServer, read_current, references
from medsvc.kit import migrate
from medsvc.security import accounts, clients

COMMAND_CLIENT = "medsvc-command"  # the client an operator's command is recorded as


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
        read_current(connection, None, resource_type, target.id)
        if target is not None and target.type == resource_type and target.version is None
        else None
    )
    if current is None or current.deleted:
        raise CommandError(f"{reference} is not a {resource_type} on this server")
    return reference


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


def os_user() -> str:
    """Who ran the command: their login name, or their uid where the system has no name for
    it (a container started with an arbitrary uid)."""
    try:
        return f"os-user:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"os-user:uid-{os.getuid()}"


def audit_server() -> FhirServer:
    from medsvc.assembly import fhir_server  # the whole FHIR layer, needed only for this record

    return fhir_server(get_settings())
