"""The medsvc patients commands: erase a patient's results (their data key and every version
sealed under it), recorded in the audit trail. Each prints one JSON object on stdout."""

import argparse
import re
from typing import Any

from medsvc.audit import trail as audit_trail
from medsvc.audit.events import Access
from medsvc.cli.common import (
    COMMAND_CLIENT,
    CommandError,
    UnknownTarget,
    audit_server,
    json_command,
    os_user,
    writing,
)
from medsvc.fhir import new_id, read_current
from medsvc.results.erasure import erase_results
from medsvc.security.context import AuthContext

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
            and read_current(connection, server.sealer, "Patient", patient_id) is None
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
