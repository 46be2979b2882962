"""The medsvc patients commands: erase a patient's results (their data key and every version
sealed under it), recorded in the audit trail. Each prints one JSON object on stdout."""

import argparse
import getpass
import os
import re
from typing import TYPE_CHECKING, Any

from medsvc.audit import trail as audit_trail
from medsvc.audit.events import Access
from medsvc.cli.access import CommandError, UnknownTarget, json_command, writing
from medsvc.config import get_settings
from medsvc.fhir import store
from medsvc.fhir.interactions import new_id
from medsvc.results.erasure import erase_results
from medsvc.security.context import AuthContext

if TYPE_CHECKING:
    from medsvc.fhir.server import FhirServer

COMMAND_CLIENT = "medsvc-command"  # the client an operator's command is recorded as

_PATIENT = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")


def _patients_erase(args: argparse.Namespace) -> dict[str, Any]:
    found = _PATIENT.fullmatch(args.patient)
    if found is None:
        raise CommandError(f"{args.patient!r} is not a Patient reference (Patient/ID)")
    patient_id = found.group(1)
    # Made before the transaction: building the FHIR layer takes a second, during which the
    # service's writes would wait for SQLite's write lock.
    server, erasure = audit_server(), _erasure(patient_id)
    with writing() as connection:
        deleted = erase_results(connection, patient_id)
        if (
            deleted is None
            and store.read_current(connection, server.sealer, "Patient", patient_id) is None
        ):
            raise UnknownTarget(f"{args.patient} is not a patient on this server")
        if deleted is not None:  # in the same transaction: no erasure without its record
            audit_trail.append(connection, server, [erasure])
    if deleted is None:
        return {"patient": args.patient, "data_key_destroyed": False, "deleted": {}}
    return {"patient": args.patient, "data_key_destroyed": True, "deleted": deleted}


def _erasure(patient_id: str) -> Access:
    """The erasure as the audit trail records it: a delete of the patient's data, by the
    operating-system user who ran the command."""
    operator = AuthContext(subject=os_user(), client_id=COMMAND_CLIENT, is_platform=True)
    return Access(
        interaction="delete",
        status=200,
        request_id=new_id(),
        client_address=None,
        patients={patient_id},
        ctx=operator,
    )


def os_user() -> str:
    """Who ran the command: their login name, or their uid where the system has no name for
    it (a container started with an arbitrary uid)."""
    try:
        return f"os-user:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"os-user:uid-{os.getuid()}"


def audit_server() -> "FhirServer":
    from medsvc.app import fhir_server  # the whole FHIR layer, needed only for this record

    return fhir_server(get_settings())


def add_commands(commands: Any) -> None:
    patients = commands.add_parser("patients", help="a patient's stored results").add_subparsers(
        dest="patients", required=True
    )
    erase = patients.add_parser(
        "erase",
        help="destroy the patient's data key and delete every result version sealed under it",
    )
    erase.add_argument("patient", help="Patient/ID")
    erase.set_defaults(run=json_command(_patients_erase))
