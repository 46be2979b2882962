"""A new version of a Binary stays with its document (who may write a new version at all is
the role write policy's; which document a Binary may join, the access policy's)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from medsvc.errors import BusinessRule
from medsvc.fhir import WriteEvent, references
from medsvc.security.context import AuthContext


@dataclass(frozen=True)
class BinaryRules:
    """The before-write hook on Binary, reading references as the index does."""

    base_url: str

    def before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if event.resource is None:
            return
        self._check_binary_update(event)

    def _document(self, binary: dict[str, Any] | None) -> references.Target | None:
        reference = (binary or {}).get("securityContext")
        if not isinstance(reference, dict):
            return None
        return references.local_target(reference.get("reference"), self.base_url)

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
