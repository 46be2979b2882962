"""What an interaction or a $operation answers (Result), apart from the interactions, so that
the registry, the router and the domains' operations name it without importing them."""

from dataclasses import dataclass

from medsvc.fhir.store import Stored


@dataclass
class Result:
    """What an interaction produced: a stored version, or a ready body (Bundle, outcome)."""

    status: int
    stored: Stored | None = None
    body: bytes | None = None
