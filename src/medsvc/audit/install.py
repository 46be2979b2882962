"""Plugs the audit trail into the FHIR engine, by create_app(): every request to patient
data is recorded, allowed or not; a change is answered only once its record is stored, a
read's record follows within moments (trail.py)."""

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from medsvc.audit.recorded import access_of
from medsvc.audit.trail import Amendment, AuditTrail
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.errors import Unavailable
from medsvc.fhir import FhirServer
from medsvc.security.context import AuthContext


class RequestRecorder:
    """The engine's request audit hook, over the process's trail."""

    def __init__(self, trail: AuditTrail, directory: frozenset[str]):
        self.trail, self.directory = trail, directory

    async def __call__(
        self,
        request: Request,
        ctx: AuthContext | None,
        status: int,
        body: bytes,
        response: Response | None,
        *,
        read: bool,
    ) -> None:
        if request.app.state.settings.auth_mode == "open":
            return  # a local trial: no one to attribute anything to
        access = access_of(request, ctx, status, body, response, self.directory)
        if access is None:
            return
        if read and not self.trail.backlogged:
            self.trail.record(access)
        elif not await self.trail.record_durably(access):
            raise Unavailable("The access could not be audited; retry shortly")


def install(
    server: FhirServer,
    database: Database,
    settings: Settings,
    amendments: Sequence[Amendment],
    directory: frozenset[str],
) -> AuditTrail:
    """The trail the app closes on shutdown. Whether the app runs in open mode is read per
    request, from the app's settings, as the caller's context is."""
    trail = AuditTrail(server, database, settings.audit_max_backlog, amendments)
    server.registry.request_audit = RequestRecorder(trail, directory)
    return trail
