"""Break-glass (docs/security.md): Patient/[id]/$break-glass gives a practitioner access to a
patient outside their care, with a reason, for a limited time. Every access under it is
audited with the purposes of use ETREAT and BTG (HL7 v3 ActReason) for review."""

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from medsvc import clock
from medsvc.access.tables import REASON_LEN, BreakGlass
from medsvc.audit.events import Access
from medsvc.errors import Forbidden, Invalid, NotFound
from medsvc.fhir import (
    Definitions,
    Operation,
    OperationCall,
    Result,
    jsonio,
    read_current,
    read_inputs,
)
from medsvc.fhir.datetimes import format_instant
from medsvc.security import scopes
from medsvc.security.context import AuthContext

GLASS = BreakGlass.__table__  # type: ignore[attr-defined]
# Emergency treatment, and break the glass: the purpose of use of an emergency access.
PURPOSES = ("ETREAT", "BTG")


def _practitioner_id(ctx: AuthContext) -> str | None:
    """The practitioner a person signed in as; None for anyone else (a citizen, a hospital's
    system, the platform), whom break-glass is not for."""
    if ctx.unrestricted or ctx.patient or ctx.organization or ctx.role != "practitioner":
        return None
    if not ctx.practitioner:
        return None
    return ctx.practitioner.split("/", 1)[1]


def _reason(call: OperationCall) -> str:
    reason = read_inputs(call).one("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid("$break-glass needs a reason (a string parameter)")
    if len(reason.strip()) > REASON_LEN:
        raise Invalid(f"The reason is longer than {REASON_LEN} characters")
    return reason.strip()


class BreakGlassOperation:
    """The $break-glass handler, with the deployment's duration."""

    def __init__(self, minutes: int):
        self.duration = timedelta(minutes=minutes)

    def __call__(self, call: OperationCall) -> Result:
        assert call.resource_id is not None
        practitioner_id = _practitioner_id(call.ctx)
        if practitioner_id is None:
            raise Forbidden("Only a practitioner breaks the glass, for a patient in need")
        scopes.require(call.ctx, "Patient", "read")
        reason = _reason(call)
        patient = read_current(call.session, call.server.sealer, "Patient", call.resource_id)
        if patient is None or patient.deleted:
            raise NotFound(f"Patient/{call.resource_id} is not known")
        now = clock.now()
        expires = now + self.duration
        values = {
            "practitioner": practitioner_id,
            "patient_id": call.resource_id,
            "reason": reason,
            "subject": call.ctx.subject[:200],
            "granted_at": now,
            "expires_at": expires,
        }
        call.session.execute(insert(GLASS).values(values))
        return Result(200, body=jsonio.dumps(_granted(call.resource_id, expires)))


def _granted(patient_id: str, expires: Any) -> dict[str, Any]:
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
            {"name": "expires", "valueInstant": format_instant(expires)},
        ],
    }


def operation(definitions: Definitions, minutes: int) -> Operation:
    return Operation(definitions.operation("Patient-break-glass"), BreakGlassOperation(minutes))


def mark_accesses(session: Connection, accesses: list[Access]) -> None:
    """The audit amendment: an access by a practitioner to a patient they had broken the
    glass for, while it lasted, carries its purposes of use and the reason given."""
    acting = {id(a): pid for a in accesses if a.ctx and (pid := _practitioner_id(a.ctx))}
    if not acting:
        return
    earliest = min(a.at for a in accesses if id(a) in acting)
    query = select(GLASS).where(
        GLASS.c.practitioner.in_(set(acting.values())), GLASS.c.expires_at > earliest
    )
    grants = session.execute(query).all()
    if not grants:
        return
    for access in accesses:
        practitioner_id = acting.get(id(access))
        held = [
            g
            for g in grants
            if g.practitioner == practitioner_id
            and clock.utc(g.granted_at) <= access.at < clock.utc(g.expires_at)
        ]
        if not held:
            continue
        patients = access.all_patients()
        reasons = sorted({g.reason for g in held if g.patient_id in patients})
        if reasons:
            access.purpose_of_use = PURPOSES
            access.purpose_text = "; ".join(reasons)


def granted(session: Connection, since: Any = None) -> list[dict[str, Any]]:
    """Every break-glass access (since a moment, if given), oldest first, for review."""
    query = select(GLASS).order_by(GLASS.c.granted_at, GLASS.c.pk)
    if since is not None:
        query = query.where(GLASS.c.granted_at >= since)
    return [
        {
            "practitioner": f"Practitioner/{row.practitioner}",
            "patient": f"Patient/{row.patient_id}",
            "reason": row.reason,
            "account": row.subject,
            "granted": format_instant(clock.utc(row.granted_at)),
            "expires": format_instant(clock.utc(row.expires_at)),
        }
        for row in session.execute(query)
    ]
