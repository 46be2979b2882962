"""Who is told in a patient's place when the gateway cannot reach them (an elderly parent
with no phone): the people acting for them as proxies now, each only of what they may read
themselves (a result kept from a child's guardians is not told to them)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from medsvc.access import proxies
from medsvc.access.acting import display_name
from medsvc.access.tables import Proxy
from medsvc.config import Settings
from medsvc.errors import NotFound
from medsvc.fhir import FhirServer, jsonio, read_current
from medsvc.fhir.interactions import visible_current
from medsvc.notify.install import notifier
from medsvc.notify.notifier import Notice, Notifier, StandIn
from medsvc.security.context import AuthContext


@dataclass(frozen=True)
class ProxyStandIns:
    server: FhirServer

    def __call__(self, session: Connection, notice: Notice, now: datetime) -> list[StandIn]:
        current = read_current(session, None, "Patient", notice.patient_id)  # never sealed
        if current is None or current.content is None:
            return []
        name = display_name(jsonio.loads_stored(current.content))
        return [
            StandIn(proxy.proxy_patient_id, name)
            for proxy in proxies.live_of(session, notice.patient_id, now)
            if notice.about is None or self._may_read(session, proxy, notice.about)
        ]

    def _may_read(self, session: Connection, proxy: Proxy, about: str) -> bool:
        """Whether the proxy, acting for the patient, reads what the notice is about: the
        same filters as their own read of it."""
        resource_type, _, resource_id = about.partition("/")
        ctx = AuthContext(
            subject=f"Patient/{proxy.proxy_patient_id}",
            patient=f"Patient/{proxy.patient_id}",
            proxy=proxy.id,
            role="patient",
            scopes=frozenset({f"patient/{resource_type}.r"}),
        )
        try:
            visible_current(self.server, session, ctx, resource_type, resource_id)
        except NotFound:
            return False
        return True


def citizens_notifier(server: FhirServer, settings: Settings) -> Notifier:
    """The notifier of citizens' notices: a patient the gateway cannot reach is told
    through their proxies."""
    return notifier(server, settings, ProxyStandIns(server))
