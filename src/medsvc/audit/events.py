"""Audit records of access to patient data: AuditEvents shaped like IHE Basic Audit Log
Patterns (BALP), and the hash chain that makes removing, altering or reordering them
detectable. Knows nothing of where they are stored."""

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from medsvc import clock
from medsvc.kit.requestlog import CLIENT_CLOSED_REQUEST
from medsvc.security.context import AuthContext

GENESIS = "0" * 64
DCM = "http://dicom.nema.org/resources/ontology/DCM"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
BALP_ENTITY_TYPE = "https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
# BALP: create C, read R, update U, delete D, and search (query) E for execute.
ACTIONS = {
    "create": "C",
    "read": "R",
    "vread": "R",
    "update": "U",
    "patch": "U",
    "delete": "D",
    "search-type": "E",
    "history-instance": "R",
    "history-type": "E",
    "transaction": "E",
    "batch": "E",
    "operation": "E",
}
ACCOUNT_SYSTEM = "urn:medsvc:account"
OPERATION_SYSTEM = "urn:medsvc:operation"  # an $operation's code, as a second subtype
# Every reference's value in JSON this service wrote (orjson: no spaces, and no escapes but
# those of a quote, a backslash and control characters, which no valid reference holds).
WRITTEN_REFERENCE = re.compile(rb'"reference":"([^"\\]*)"')
# The Patient id a reference names, as the FHIR layer's one reference parser reads it.
PatientNamed = Callable[[str], str | None]


@dataclass
class Access:
    """One FHIR request as the audit sees it: who, what, how it ended."""

    interaction: str  # a restful-interaction code: read, search-type, create, ...
    status: int
    request_id: str
    client_address: str | None
    resource_type: str | None = None
    resource_id: str | None = None
    query: str | None = None  # the raw query string of a search; never its results
    patients: set[str] = field(default_factory=set)  # ids of the patients whose data it was
    ctx: AuthContext | None = None  # None when the caller could not be identified
    # Bodies the patients are read from too, by the audit's writer rather than while the
    # caller waits: what the client sent, parsed as JSON (which may spell a reference with
    # escapes), and what the service answered, which it wrote itself.
    sent: bytes | None = None
    contents: tuple[bytes, ...] = ()
    patient_named: PatientNamed | None = None
    at: datetime = field(default_factory=clock.now)  # when the request was answered
    # Why the data was accessed, when it was not the ordinary care of the patient: HL7 v3
    # ActReason codes (ETREAT, BTG for break-glass) and the reason the person gave.
    purpose_of_use: tuple[str, ...] = ()
    purpose_text: str | None = None
    operation: str | None = None  # the $operation's name (without the $), for an operation
    account: str | None = None  # the id of an account an operator's command acted on
    action: str | None = None  # what the command did to it: disable, reset-password, ...

    def all_patients(self) -> set[str]:
        named = self.patient_named or _relative_patient
        found = set(self.patients) | {p for r in _sent_references(self.sent) if (p := named(r))}
        for content in self.contents:
            found |= {p for r in WRITTEN_REFERENCE.findall(content) if (p := named(r.decode()))}
        return found


def _relative_patient(reference: str) -> str | None:
    kind, _, patient_id = reference.partition("/")
    return patient_id if kind == "Patient" and patient_id and "/" not in patient_id else None


def _sent_references(body: bytes | None) -> Iterator[str]:
    """The values of every `reference` in a client's JSON body, however it spelled them;
    nothing for a body that is not JSON. Walked without recursion: a body may nest deeply."""
    if not body:
        return
    try:
        stack: list[Any] = [orjson.loads(body)]
    except orjson.JSONDecodeError:
        return
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(reference := node.get("reference"), str):
                yield reference
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _outcome(status: int) -> tuple[str, str]:
    if status < 400:
        return "0", "Success"
    if status == CLIENT_CLOSED_REQUEST:
        return "4", "The client closed the connection before its request was read"
    if status < 500:
        return "4", f"Refused or failed with HTTP {status}"
    return "8", f"Server error HTTP {status}"


def _agents(access: Access, server: str) -> list[dict[str, Any]]:
    ctx = access.ctx
    client: dict[str, Any] = {
        "type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
        "who": {
            "identifier": {
                "system": "urn:medsvc:client",
                "value": (ctx.client_id if ctx else None) or "unknown",
            }
        },
        "requestor": ctx is None or ctx.client_id == ctx.subject,
    }
    if access.client_address:
        client["network"] = {"address": access.client_address, "type": "2"}
    agents = [
        client,
        {
            "type": {
                "coding": [{"system": DCM, "code": "110152", "display": "Destination Role ID"}]
            },
            "who": {"display": server},
            "requestor": False,
        },
    ]
    if ctx is not None and ctx.client_id != ctx.subject:  # a person using an app
        person = ctx.patient or ctx.practitioner
        if ctx.proxy:  # acting for another: the proxy acts, the patient is the entity
            person = f"RelatedPerson/{ctx.proxy}"
        who = {"reference": person} if person else {"identifier": {"value": ctx.subject}}
        person_agent: dict[str, Any] = {
            "who": who,
            "requestor": True,
            "type": {
                "coding": [{"system": SECURITY_ROLE, "code": "humanuser", "display": "human user"}]
            },
        }
        if access.purpose_of_use:
            person_agent["purposeOfUse"] = [_purpose(access)]
        agents.append(person_agent)
    return agents


def _purpose(access: Access) -> dict[str, Any]:
    concept: dict[str, Any] = {
        "coding": [{"system": ACT_REASON, "code": code} for code in access.purpose_of_use]
    }
    if access.purpose_text:
        concept["text"] = access.purpose_text
    return concept


def _marked(event: dict[str, Any], access: Access) -> dict[str, Any]:
    """An access for another purpose than ordinary care: its purpose on the event (BALP
    purposeOfEvent) and as security labels (meta.security), by which reviewers search."""
    if not access.purpose_of_use:
        return event
    labels = [{"system": ACT_REASON, "code": code} for code in access.purpose_of_use]
    return {**event, "meta": {"security": labels}, "purposeOfEvent": [_purpose(access)]}


def _entities(access: Access) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = [
        {
            "what": {"reference": f"Patient/{p}"},
            "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"},
        }
        for p in sorted(access.all_patients())
    ]
    if access.resource_type and access.resource_id:
        entities.append(
            {
                "what": {"reference": f"{access.resource_type}/{access.resource_id}"},
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            }
        )
    if access.account is not None:
        entities.append(_account_entity(access.account, access.action))
    if access.query is not None:
        entities.append(
            {
                "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                "role": {"system": OBJECT_ROLE, "code": "24", "display": "Query"},
                "query": base64.b64encode(access.query.encode()).decode(),
                # BALP's Query entity also gives the search in words: what type it asked.
                "description": f"{access.resource_type or ''}?{access.query}",
            }
        )
    entities.append(
        {
            "what": {"identifier": {"value": access.request_id}},
            "type": {"system": BALP_ENTITY_TYPE, "code": "XrequestId"},
        }
    )
    return entities


def _account_entity(account_id: str, action: str | None) -> dict[str, Any]:
    """A person's sign-in account (not a FHIR resource): named by its identifier."""
    entity: dict[str, Any] = {
        "what": {"identifier": {"system": ACCOUNT_SYSTEM, "value": account_id}},
        "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
        "role": {"system": OBJECT_ROLE, "code": "6", "display": "User"},
    }
    if action:
        entity["detail"] = [{"type": "action", "valueString": action}]
    return entity


def _subtypes(access: Access) -> list[dict[str, str]]:
    """The interaction (BALP), and for an $operation which one it was."""
    interaction = {"system": "http://hl7.org/fhir/restful-interaction", "code": access.interaction}
    if access.operation is None:
        return [interaction]
    return [interaction, {"system": OPERATION_SYSTEM, "code": access.operation}]


def audit_event(access: Access, recorded: str, server: str) -> dict[str, Any]:
    """The AuditEvent of one access (BALP: type rest, the interaction as subtype)."""
    outcome, description = _outcome(access.status)
    event = {
        "resourceType": "AuditEvent",
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "Restful Operation",
        },
        "subtype": _subtypes(access),
        "action": ACTIONS.get(access.interaction, "E"),
        "recorded": recorded,
        "outcome": outcome,
        "outcomeDesc": description,
        "agent": _agents(access, server),
        "source": {
            "observer": {"display": server},
            "type": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                    "code": "4",
                    "display": "Application Server",
                }
            ],
        },
        "entity": _entities(access),
    }
    return _marked(event, access)


def chain_hash(previous: str, content: bytes) -> str:
    """Each record's hash covers the one before it: sha256(previous hash || record)."""
    return hashlib.sha256(previous.encode("ascii") + content).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    seq: int
    previous: str
    hash: str
    content: bytes | None  # None when the record it points at is gone


def verify_chain(links: list[ChainLink]) -> list[str]:
    """What is wrong with the chain, in order; empty when it is whole."""
    problems: list[str] = []
    expected_previous = GENESIS
    for link in links:
        if link.previous != expected_previous:
            problems.append(f"record {link.seq}: the record before it was removed or reordered")
        if link.content is None:
            problems.append(f"record {link.seq}: its AuditEvent was removed")
        elif chain_hash(link.previous, link.content) != link.hash:
            problems.append(f"record {link.seq}: its AuditEvent was altered")
        expected_previous = link.hash
    return problems


def recorded_at(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
