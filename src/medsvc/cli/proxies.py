"""The medsvc proxies commands: add, list and revoke who may act for whom (a parent for a
child, an adult for another who consented in person). Each prints one JSON object and is
recorded in the audit trail as the operating-system user's action, in its transaction."""

import argparse
from datetime import UTC, datetime
from typing import Any

from medsvc import clock
from medsvc.access import proxies
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
from medsvc.config import get_settings
from medsvc.fhir import new_id
from medsvc.security.context import AuthContext


def _record(interaction: str, patients: set[str], resource_id: str | None = None) -> Access:
    operator = AuthContext(subject=os_user(), client_id=COMMAND_CLIENT, is_platform=True)
    return Access(
        interaction=interaction,
        status=200,
        request_id=new_id(),
        client_address=None,
        resource_type="RelatedPerson" if resource_id else None,
        resource_id=resource_id,
        patients=patients,
        ctx=operator,
    )


def _patient_id(connection: Any, reference: str) -> str:
    return existing_reference(connection, reference, "Patient").split("/", 1)[1]


def _until(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.combine(datetime.fromisoformat(text).date(), datetime.min.time(), UTC)
    except ValueError:
        raise CommandError(f"--until {text!r} is not a date such as 2027-06-30") from None


def _proxies_add(args: argparse.Namespace) -> dict[str, Any]:
    server, now = audit_server(), clock.now()
    with writing() as connection:
        proposal = proxies.NewProxy(
            _patient_id(connection, args.patient),
            _patient_id(connection, args.proxy),
            args.relationship,
            args.kind,
            "operator" if args.in_person is None else args.in_person,
            _until(args.until),
        )
        try:
            child_age = proxies.ChildAge.of(get_settings())
            made = proxies.add(connection, server, proposal, child_age, now)
        except proxies.ProxyRefused as refused:
            raise CommandError(str(refused)) from None
        patients = {made.patient_id, made.proxy_patient_id}
        audit_trail.append(
            connection, server, [_record("create", patients, made.related_person_id)]
        )
    return proxies.summary(made)


def _proxies_list(args: argparse.Namespace) -> dict[str, Any]:
    server = audit_server()
    with writing() as connection:
        patient = _patient_id(connection, args.patient) if args.patient else None
        proxy = _patient_id(connection, args.proxy) if args.proxy else None
        found = proxies.listed(connection, patient, proxy)
        named = {p for p in (patient, proxy) if p}
        audit_trail.append(connection, server, [_record("search-type", named)])
    return {"proxies": [proxies.summary(p) for p in found]}


def _proxies_revoke(args: argparse.Namespace) -> dict[str, Any]:
    server, now = audit_server(), clock.now()
    with writing() as connection:
        found = proxies.found(connection, args.id)
        if found is None:
            raise UnknownTarget(f"no proxy {args.id!r}")
        if found.revoked_at is not None:
            raise CommandError(f"proxy {args.id} was revoked before")
        revoked = proxies.revoke(connection, server, found, now)
        patients = {found.patient_id, found.proxy_patient_id}
        audit_trail.append(
            connection, server, [_record("update", patients, found.related_person_id)]
        )
    return proxies.summary(found) | {"revoked": now.isoformat(), "grants_revoked": revoked}


def add_commands(commands: Any) -> None:
    group = commands.add_parser("proxies", help="who may act for whom").add_subparsers(
        dest="proxies", required=True
    )
    add = group.add_parser("add", help="let one person act for another")
    add.add_argument("--patient", required=True, help="Patient/ID of the person acted for")
    add.add_argument("--proxy", required=True, help="Patient/ID of the person who acts")
    add.add_argument("--kind", choices=proxies.KINDS, required=True)
    add.add_argument(
        "--relationship", required=True, help="HL7 v3 RoleCode: MTH, FTH, GUARD, SPS, CHILD, ..."
    )
    add.add_argument("--until", help="the last day of a consented adult's proxy (YYYY-MM-DD)")
    add.add_argument(
        "--in-person",
        choices=("hospital",),
        default=None,
        help="the relationship was checked in person at a hospital",
    )
    add.set_defaults(run=json_command(_proxies_add))
    listing = group.add_parser("list", help="proxies, of a patient or of a proxy")
    listing.add_argument("--patient", help="Patient/ID acted for")
    listing.add_argument("--proxy", help="Patient/ID who acts")
    listing.set_defaults(run=json_command(_proxies_list))
    revoke = group.add_parser("revoke", help="end a proxy now; its grants are revoked")
    revoke.add_argument("id")
    revoke.set_defaults(run=json_command(_proxies_revoke))
