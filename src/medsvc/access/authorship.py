"""Who a record names as having done the work: a practitioner names themselves as its
performer, interpreter or requester when they create it, never by changing a record that did
not name them, since that naming is own work they keep after care ends (access/care.py)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from medsvc.access.care import OWN_WORK
from medsvc.errors import Forbidden, Issue
from medsvc.fhir import WriteEvent, references
from medsvc.security.context import AuthContext


def _practitioners_named(resource: dict[str, Any] | None, element: str, base_url: str) -> set[str]:
    """The ids of the Practitioners an element refers to, read as the search index reads
    them (references.local_target), so that every spelling it indexes is counted."""
    value = (resource or {}).get(element)
    found = set()
    for reference, _where in references.walk(value, element):
        target = references.local_target(reference, base_url)
        if target is not None and target.type == "Practitioner":
            found.add(target.id)
    return found


def self_added(event: WriteEvent, practitioner_id: str, base_url: str) -> list[str]:
    """The own-work elements a change adds the practitioner to, as Type.element."""
    elements = OWN_WORK.get(event.resource_type, {}).values()
    return [
        f"{event.resource_type}.{element}"
        for element in elements
        if practitioner_id in _practitioners_named(event.resource, element, base_url)
        and practitioner_id not in _practitioners_named(event.previous, element, base_url)
    ]


@dataclass(frozen=True)
class Authorship:
    """The before-write hook on the types recording own work: a change of a stored record
    (PUT, PATCH, a Bundle's entry) by a practitioner may not add them to its own-work
    elements; a create may name anyone."""

    base_url: str

    def before_write(self, _session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        if ctx.unrestricted or not ctx.practitioner or event.previous is None:
            return
        practitioner_id = ctx.practitioner.split("/", 1)[1]
        added = self_added(event, practitioner_id, self.base_url)
        if added:
            message = (
                f"A practitioner may not add themselves to {', '.join(added)} of a record "
                "that did not name them: who performed, interpreted or requested the work is "
                "recorded when the record is created, or by the hospital's system"
            )
            issue = Issue(message, Forbidden.code, expression=tuple(added))
            raise Forbidden(message, issues=[issue])
