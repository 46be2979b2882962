"""What a citizen may change of their own Patient: how to reach them and their preferences,
never who they are (identifiers, name, birth date, gender, links) or who manages the record."""

from typing import Any

from medsvc.errors import Forbidden, Issue

# Contact details and preferences (FHIR R4B Patient: telecom, address, contact,
# communication with its preferred flag, maritalStatus). Everything else identifies the
# person, links records or is the hospitals' to keep.
CITIZEN_ELEMENTS = frozenset({"telecom", "address", "contact", "communication", "maritalStatus"})
# Set by the server on every write, whatever the client sends.
SERVER_META = frozenset({"versionId", "lastUpdated"})


def _comparable(resource: dict[str, Any] | None, element: str) -> Any:
    value = (resource or {}).get(element)
    if element == "meta" and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k not in SERVER_META} or None
    return value if value not in ({}, []) else None


def changed_elements(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The top-level elements whose value differs between the two versions."""
    names = set(before or {}) | set(after)
    return sorted(n for n in names if _comparable(before, n) != _comparable(after, n))


def check_change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    """Raises 403 naming every element the citizen may not change."""
    if after is None:
        raise Forbidden("A citizen's own Patient record is not deleted through the app")
    refused = [n for n in changed_elements(before, after) if n not in CITIZEN_ELEMENTS]
    if refused:
        message = (
            "A citizen may change only their contact details and preferences "
            f"({', '.join(sorted(CITIZEN_ELEMENTS))}) of their Patient record, not: "
            f"{', '.join(refused)}. Your hospital corrects the rest."
        )
        where = tuple(f"Patient.{n}" for n in refused)
        raise Forbidden(message, issues=[Issue(message, Forbidden.code, expression=where)])
