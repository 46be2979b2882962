"""The medsvc patients commands: erase a patient's results (their data key and every version
sealed under it). Each prints one JSON object on stdout."""

import argparse
import re
from typing import Any

from medsvc.cli_access import CommandError, json_command, writing
from medsvc.results.erasure import erase_results

_PATIENT = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")


def _patients_erase(args: argparse.Namespace) -> dict[str, Any]:
    found = _PATIENT.fullmatch(args.patient)
    if found is None:
        raise CommandError(f"{args.patient!r} is not a Patient reference (Patient/ID)")
    with writing() as connection:
        deleted = erase_results(connection, found.group(1))
    if deleted is None:
        return {"patient": args.patient, "data_key_destroyed": False, "deleted": {}}
    return {"patient": args.patient, "data_key_destroyed": True, "deleted": deleted}


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
