"""Where a Binary may be written: a report's PDF joins only a DocumentReference its writer may
change, and a new version of it stays with its document (who may write a new version at all
is the role write policy's)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from medsvc.access import compartments
from medsvc.access.care import Care
from medsvc.errors import BusinessRule
from medsvc.fhir import pending, references
from medsvc.fhir.registry import WriteEvent
from medsvc.fhir.store import RESOURCE
from medsvc.results import at_rest
from medsvc.security.context import AuthContext


@dataclass(frozen=True)
class BinaryRules:
    """The before-write hook on Binary, reading references as the index does and the care
    relationship as the deployment sets it."""

    base_url: str
    care: Care

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if event.resource is None:
            return
        self._check_document_writable(session, ctx, event.resource)
        self._check_binary_update(event)

    def _document(self, binary: dict[str, Any] | None) -> references.Target | None:
        reference = (binary or {}).get("securityContext")
        if not isinstance(reference, dict):
            return None
        return references.local_target(reference.get("reference"), self.base_url)

    def _check_document_writable(
        self, session: Connection, ctx: AuthContext, binary: dict[str, Any]
    ) -> None:
        """A Binary joins only a DocumentReference its writer may change: another hospital's
        report must not gain a PDF its patient would read. One the caller may not change is
        refused as one that does not exist."""
        target = self._document(binary)
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
        if found is None:
            raise at_rest.unpatiented("Binary", "securityContext")

    def _check_binary_update(self, event: WriteEvent) -> None:
        """A new version of a Binary (a corrected PDF) stays with the document or patient it
        was written for, however its reference is spelled: moving it would hand it to another
        patient's readers."""
        if event.previous is None:
            return
        if self._document(event.previous) != self._document(event.resource):
            raise BusinessRule(
                "A Binary keeps its securityContext: write a new Binary for another document",
                expression="Binary.securityContext",
            )
