"""Where domains plug into the FHIR layer: write hooks, read filters and $operations.

The FHIR layer never imports a domain; create_app() registers each one here explicitly.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, Connection, FromClause, and_
from starlette.requests import Request
from starlette.responses import Response

from medsvc.fhir import jsonio
from medsvc.fhir.answers import Result
from medsvc.security.context import AuthContext

if TYPE_CHECKING:
    from medsvc.fhir.search.params import Criterion
    from medsvc.fhir.server import FhirServer
    from medsvc.fhir.store import Stored


@dataclass
class WriteEvent:
    """A write about to happen: resource is the new content (None for a delete)."""

    interaction: str  # create | update | delete (a PATCH is the update it makes)
    resource_type: str
    resource: dict[str, Any] | None
    current: "Stored | None"

    @cached_property
    def previous(self) -> dict[str, Any] | None:
        """The content the write replaces: None for a create, or over a deleted resource.
        Parsed once for every hook that asks."""
        current = self.current
        if current is None or current.content is None or current.deleted:
            return None
        found: dict[str, Any] = jsonio.loads_stored(current.content)
        return found


@dataclass(frozen=True)
class TopicEvent:
    """Something a domain did that is no write of its focus (a result released to its
    patient): a SubscriptionTopic's event trigger, by its code."""

    code: str
    focus_type: str
    focus_id: str


BeforeWrite = Callable[[Connection, AuthContext, WriteEvent], None]
AfterWrite = Callable[[Connection, AuthContext, WriteEvent, "Stored"], None]
ReadFilter = Callable[[AuthContext, str, FromClause], ColumnElement[bool] | None]
EventListener = Callable[[Connection, TopicEvent], None]
CapabilityAmendment = Callable[[dict[str, Any]], None]  # amends CapabilityStatement.rest
# A caller naming one resource by exact identifier (a conditional reference, If-None-Exist)
# that may be found outside its read filters: returns what to do with the one match (join it
# to the caller's view), or None when the caller's filters apply as usual.
Identification = Callable[
    [AuthContext, str, "list[Criterion]"], Callable[[Connection, "Stored"], None] | None
]


class RequestAudit(Protocol):
    """Records a FHIR request once answered (or refused); may refuse a write whose record
    cannot be stored. read: the request changes nothing."""

    async def __call__(
        self,
        request: Request,
        ctx: AuthContext | None,
        status: int,
        body: bytes,
        response: Response | None,
        *,
        read: bool,
    ) -> None: ...


@dataclass(frozen=True)
class OperationCall:
    """One invocation of a $operation, HTTP-free."""

    server: "FhirServer"
    session: Connection
    ctx: AuthContext
    resource_type: str | None
    resource_id: str | None
    method: str
    parameters: list[tuple[str, str]]
    body: Any


@dataclass(frozen=True)
class Operation:
    name: str  # without the $
    levels: frozenset[str]  # system | type | instance
    handler: Callable[[OperationCall], Result]
    definition: dict[str, Any]
    affects_state: bool = False
    types: frozenset[str] | None = None  # None: every supported type


@dataclass
class Registry:
    before_write: list[BeforeWrite] = field(default_factory=list)
    after_write: list[AfterWrite] = field(default_factory=list)
    read_filters: list[ReadFilter] = field(default_factory=list)
    event_listeners: list[EventListener] = field(default_factory=list)
    operations: dict[str, Operation] = field(default_factory=dict)
    # What a domain serves beside the stored types, added to CapabilityStatement.rest
    # (the resource entries of routes of its own, extensions of an entry).
    capability_amendments: list[CapabilityAmendment] = field(default_factory=list)
    identifications: list[Identification] = field(default_factory=list)
    request_audit: RequestAudit | None = None

    def add_operation(self, operation: Operation) -> None:
        self.operations[operation.name] = operation

    def operation(self, name: str, level: str, resource_type: str | None) -> Operation | None:
        operation = self.operations.get(name)
        if operation is None or level not in operation.levels:
            return None
        if operation.types is not None and resource_type not in operation.types:
            return None
        return operation

    def run_before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        for hook in self.before_write:
            hook(session, ctx, event)

    def run_after_write(
        self, session: Connection, ctx: AuthContext, event: WriteEvent, stored: "Stored"
    ) -> None:
        for hook in self.after_write:
            hook(session, ctx, event, stored)

    def identification(
        self, ctx: AuthContext, resource_type: str, criteria: "list[Criterion]"
    ) -> Callable[[Connection, "Stored"], None] | None:
        """What to do with a match found by exact identifier outside the caller's filters."""
        for identify in self.identifications:
            if (found := identify(ctx, resource_type, criteria)) is not None:
                return found
        return None

    def emit(self, session: Connection, event: TopicEvent) -> None:
        """Tells the listeners (the outbox) of a domain's event, in the caller's unit of work."""
        for listener in self.event_listeners:
            listener(session, event)

    def read_filter(
        self, ctx: AuthContext, resource_type: str, resource: FromClause
    ) -> ColumnElement[bool] | None:
        """What the caller may see of a type, as a condition on the resource table."""
        conditions = [
            c for f in self.read_filters if (c := f(ctx, resource_type, resource)) is not None
        ]
        return and_(*conditions) if conditions else None
