"""Patient/[id]/$proxy-activity: what the people acting for a patient did in the patient's
name, from the audit trail, newest first: when, who (their RelatedPerson, and name), the
interaction, the $operation, the type it touched or searched, and whether it succeeded. Only
the patient asks, for themselves; nothing else of the audit is shown (no network addresses,
apps or search values)."""

from typing import Any

from sqlalchemy import Connection, select

from medsvc.access import proxies
from medsvc.access.acting import display_name
from medsvc.audit.events import OPERATION_SYSTEM
from medsvc.errors import Forbidden, Invalid
from medsvc.fhir import (
    Definitions,
    Operation,
    OperationCall,
    Result,
    index,
    interactions,
    jsonio,
    read_current,
    read_inputs,
)
from medsvc.fhir.index import RESOURCE
from medsvc.security import scopes
from medsvc.security.context import AuthContext

RESTFUL = "http://hl7.org/fhir/restful-interaction"
DOMAIN_RESOURCE, QUERY = "4", "24"  # http://terminology.hl7.org/CodeSystem/object-role
DEFAULT_COUNT, MAX_COUNT = 50, 100


def _patient_themselves(ctx: AuthContext, patient_id: str) -> str:
    if ctx.unrestricted:
        return patient_id
    if ctx.role != "patient" or ctx.proxy or ctx.patient != f"Patient/{patient_id}":
        raise Forbidden("Only the patient asks what the people acting for them did")
    scopes.require(ctx, "RelatedPerson", "read")
    return patient_id


def _count(call: OperationCall) -> int:
    asked = read_inputs(call).one("count")
    if asked is None:
        return DEFAULT_COUNT
    if isinstance(asked, str) and asked.isdigit():
        asked = int(asked)
    if isinstance(asked, bool) or not isinstance(asked, int) or not 1 <= asked <= MAX_COUNT:
        raise Invalid(f"count is a whole number from 1 to {MAX_COUNT}", expression="count")
    return asked


def _names(session: Connection, found: list[Any]) -> dict[str, str]:
    """The proxies' names, by their RelatedPerson's id."""
    names = {}
    for proxy in found:
        current = read_current(session, None, "Patient", proxy.proxy_patient_id)
        if current is not None and current.content is not None:
            names[proxy.related_person_id] = display_name(jsonio.loads_stored(current.content))
    return names


def _events(session: Connection, related_people: list[str], count: int) -> list[dict[str, Any]]:
    agents = index.referring("AuditEvent", ("agent",), "RelatedPerson", related_people)
    query = (
        select(RESOURCE.c.content)
        .where(RESOURCE.c.resource_type == "AuditEvent", RESOURCE.c.pk.in_(agents))
        .order_by(RESOURCE.c.pk.desc())
        .limit(count)
    )
    return [dict(jsonio.loads_stored(content)) for content in session.execute(query).scalars()]


def _code(codings: list[Any], system: str) -> str | None:
    return next((c.get("code") for c in codings if c.get("system") == system), None)


def _type(event: dict[str, Any]) -> str | None:
    """The type of the resource it touched, or of its search (BALP's query description)."""
    for entity in event.get("entity") or []:
        role = (entity.get("role") or {}).get("code")
        if role == DOMAIN_RESOURCE:
            return str((entity.get("what") or {}).get("reference", "")).split("/")[0] or None
        if role == QUERY and entity.get("description"):
            return str(entity["description"]).split("?")[0] or None
    return None


def _access(event: dict[str, Any], names: dict[str, str]) -> dict[str, Any] | None:
    who = [str((a.get("who") or {}).get("reference", "")) for a in event.get("agent") or []]
    by = next((w for w in who if w.startswith("RelatedPerson/")), None)
    subtypes = event.get("subtype") or []
    if by is None:
        return None
    values: list[tuple[str, str, Any]] = [
        ("when", "valueInstant", event.get("recorded")),
        ("by", "valueReference", {"reference": by}),
        ("name", "valueString", names.get(by.removeprefix("RelatedPerson/")) or None),
        ("interaction", "valueCode", _code(subtypes, RESTFUL)),
        ("operation", "valueCode", _code(subtypes, OPERATION_SYSTEM)),
        ("type", "valueCode", _type(event)),
        ("succeeded", "valueBoolean", event.get("outcome") == "0"),
    ]
    part = [{"name": name, key: value} for name, key, value in values if value is not None]
    return {"name": "access", "part": part}


def proxy_activity(call: OperationCall) -> Result:
    assert call.resource_id is not None
    patient_id = _patient_themselves(call.ctx, call.resource_id)
    interactions.visible_current(call.server, call.session, call.ctx, "Patient", patient_id)
    count = _count(call)
    found = proxies.listed(call.session, patient_id, None)  # ended ones acted too
    events = _events(call.session, [p.related_person_id for p in found], count) if found else []
    names = _names(call.session, found)
    listed = [a for e in events if (a := _access(e, names)) is not None]
    return Result(200, body=jsonio.dumps({"resourceType": "Parameters", "parameter": listed}))


def operation(definitions: Definitions) -> Operation:
    return Operation(definitions.operation("Patient-proxy-activity"), proxy_activity)
