"""Where a Binary may be written: a report's PDF joins only a DocumentReference its writer may
change, and a new version of it comes from a hospital's system or the platform and stays
with its document."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from medsvc.errors import BusinessRule, Forbidden
from medsvc.fhir import compartments, pending, references
from medsvc.fhir.registry import WriteEvent
from medsvc.fhir.store import RESOURCE
from medsvc.results import at_rest
from medsvc.security.context import AuthContext


@dataclass(frozen=True)
class BinaryRules:
    """The before_write hook on Binary, reading references as the index does."""

    base_url: str

    def __call__(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if event.resource_type != "Binary" or event.resource is None:
            return
        _check_document_writable(session, ctx, event.resource, self.base_url)
        _check_binary_update(ctx, event)


def _check_document_writable(
    session: Connection, ctx: AuthContext, binary: dict[str, Any], base_url: str
) -> None:
    """A Binary joins only a DocumentReference its writer may change: another hospital's
    report must not gain a PDF its patient would read. One the caller may not change is
    refused as one that does not exist."""
    reference = binary.get("securityContext")
    target = (
        references.local_target(reference.get("reference"), base_url)
        if isinstance(reference, dict)
        else None
    )
    if target is None or target.type != "DocumentReference":
        return
    writable = compartments.writable(ctx, "DocumentReference", RESOURCE)
    if writable is None:
        return
    pending.flush(session)  # a document written earlier in the Bundle: its index rows decide
    found = session.execute(
        select(RESOURCE.c.pk).where(
            RESOURCE.c.resource_type == "DocumentReference", RESOURCE.c.id == target.id, writable
        )
    ).first()
    if found is None:
        raise at_rest.unpatiented("Binary", "securityContext")


def _check_binary_update(ctx: AuthContext, event: WriteEvent) -> None:
    """A new version of a Binary (a corrected PDF) comes from a hospital's system or the
    platform, never from a person's app, and stays with the document or patient it was
    written for: moving it would hand it to another patient's readers."""
    previous, resource = event.previous, event.resource
    if previous is None or resource is None:
        return
    if not (ctx.unrestricted or ctx.organization):
        raise Forbidden("Only a hospital's system changes a Binary; write a new one")
    if previous.get("securityContext") != resource.get("securityContext"):
        raise BusinessRule(
            "A Binary keeps its securityContext: write a new Binary for another document",
            expression="Binary.securityContext",
        )
