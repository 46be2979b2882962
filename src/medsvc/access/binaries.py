"""Where a Binary may be written: a report's PDF joins only a DocumentReference its writer may
change, so another hospital's report never gains a PDF its patient would read."""

from dataclasses import dataclass

from sqlalchemy import Connection, select

from medsvc.access import compartments
from medsvc.access.care import Care
from medsvc.errors import Unprocessable
from medsvc.fhir import WriteEvent, pending, references
from medsvc.fhir.index import RESOURCE
from medsvc.security.context import AuthContext


@dataclass(frozen=True)
class BinaryPlacement:
    """The before-write hook on Binary, reading references as the index does and the care
    relationship as the deployment sets it."""

    base_url: str
    care: Care

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if event.resource is None:
            return
        reference = event.resource.get("securityContext")
        if not isinstance(reference, dict):
            return
        target = references.local_target(reference.get("reference"), self.base_url)
        if target is None or target.type != "DocumentReference":
            return
        writable = compartments.writable(ctx, "DocumentReference", RESOURCE, self.care)
        if writable is None:
            return
        pending.flush(session)  # a document written earlier in the Bundle: its index rows decide
        found = session.execute(
            select(RESOURCE.c.pk).where(
                RESOURCE.c.resource_type == "DocumentReference",
                RESOURCE.c.id == target.id,
                writable,
            )
        ).first()
        if found is None:  # one the caller may not change is refused as one that does not exist
            raise Unprocessable(
                "Binary.securityContext must refer to a stored DocumentReference about the "
                "patient that this caller may change",
                expression="Binary.securityContext",
            )
