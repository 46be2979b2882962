"""What the audit trail records of a FHIR request: the interaction, the resource, the query,
the patients whose data it touched, and how it ended."""

import re
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response

from medsvc.audit import events as audit
from medsvc.audit.query_redaction import audited_query
from medsvc.fhir import interaction_of, references
from medsvc.kit import requestlog
from medsvc.security.context import AuthContext

REACHING_PARAMS = ("_include", "_revinclude", "_has")  # what can bring patient data along
OPERATION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")  # an OperationDefinition.code


def _is_directory_lookup(request: Request, segments: list[str], directory: frozenset[str]) -> bool:
    """A read or search of the public directory that cannot bring patient data along."""
    if request.method != "GET" or not segments or segments[0] not in directory:
        return False
    return not any(k.split(":")[0] in REACHING_PARAMS for k in request.query_params)


def access_of(
    request: Request,
    ctx: AuthContext | None,
    status: int,
    body: bytes,
    response: Response | None,
    directory: frozenset[str] = frozenset(),
) -> audit.Access | None:
    """The access to record, or None for what touches no patient data (directory: the
    types of the public directory, whose plain lookups are not recorded)."""
    segments = [s for s in request.path_params.get("path", "").split("/") if s]
    if segments == ["metadata"] or _is_directory_lookup(request, segments, directory):
        return None
    kind = interaction_of(request.method, segments)
    resource_type = segments[0] if segments else None
    resource_id = (
        segments[1] if len(segments) > 1 and not segments[1].startswith(("_", "$")) else None
    )
    answered = [bytes(response.body)] if status < 400 and response is not None else []
    patients = {resource_id} if resource_type == "Patient" and resource_id else set()
    operation = next((s[1:] for s in segments if s.startswith("$")), None)
    if operation is not None and not OPERATION_NAME.fullmatch(operation):
        operation = "unknown"  # a name no operation has: recorded, not repeated
    query = None
    if kind in ("search-type", "history-type"):
        posted = request.method == "POST"
        asked = body.decode(errors="replace") if posted else str(request.url.query)
        server = request.app.state.fhir
        query = audited_query(server.definitions, resource_type, asked, server.limits)
    return audit.Access(
        interaction=kind,
        status=status,
        request_id=requestlog.request_id.get(),
        client_address=request.client.host if request.client else None,
        resource_type=resource_type,
        resource_id=resource_id,
        query=query,
        operation=operation if kind == "operation" else None,
        patients=patients,
        ctx=ctx,
        sent=body if request.method != "GET" else None,
        contents=tuple(answered),
        patient_named=_patient_named(request.app.state.fhir.base_url),
    )


@lru_cache(maxsize=4)
def _patient_named(base_url: str) -> audit.PatientNamed:
    """The audit's reading of a reference: the Patient it names by the one reference parser."""

    def patient_named(reference: str) -> str | None:
        target = references.local_target(reference, base_url)
        return target.id if target is not None and target.type == "Patient" else None

    return patient_named
