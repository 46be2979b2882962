"""Where domains plug into the FHIR layer: write hooks, read filters and $operations.

The FHIR layer never imports a domain; create_app() registers each one here explicitly.
A write hook is registered for the resource types it judges, and for its phase:
`registry.on_write(("Slot",), before=check, after=record)`, or ALL_TYPES for every type.
A write runs its own type's hooks only, each phase's in the order they were registered:
create_app() installs the access policy first, so the policy decides before any domain.
`registry.write_hooks(type)` lists them, as a write of that type runs them.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, Protocol, TypeVar

from sqlalchemy import ColumnElement, Connection, FromClause, and_
from starlette.requests import Request
from starlette.responses import Response

from medsvc.fhir import jsonio
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import OperationDefinition
from medsvc.fhir.search.params import Criterion
from medsvc.fhir.store import Stored
from medsvc.security.context import AuthContext

if TYPE_CHECKING:  # a server holds its registry, whose operation calls carry the server
    from medsvc.fhir.server import FhirServer


@dataclass
class WriteEvent:
    """A write about to happen: resource is the new content (None for a delete)."""

    interaction: str  # create | update | delete (a PATCH is the update it makes)
    resource_type: str
    resource: dict[str, Any] | None
    current: Stored | None

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
AfterWrite = Callable[[Connection, AuthContext, WriteEvent, Stored], None]
ReadFilter = Callable[[AuthContext, str, FromClause], ColumnElement[bool] | None]
EventListener = Callable[[Connection, TopicEvent], None]
CapabilityAmendment = Callable[[dict[str, Any]], None]  # amends CapabilityStatement.rest
# A caller naming one resource by exact identifier (a conditional reference, If-None-Exist)
# that may be found outside its read filters: returns what to do with the one match (join it
# to the caller's view), or None when the caller's filters apply as usual.
Identification = Callable[
    [AuthContext, str, list[Criterion]], Callable[[Connection, Stored], None] | None
]


# What an organization's systems may read of a type, as a condition on the resource table,
# as the access policy defines it: whom a hospital's subscriptions tell of a change.
OrganizationView = Callable[[str, str, FromClause], ColumnElement[bool]]


class _Every(Enum):
    TYPE = "every resource type"


ALL_TYPES: Final = _Every.TYPE
WriteTypes = Collection[str] | Literal[_Every.TYPE]
Hook = TypeVar("Hook", BeforeWrite, AfterWrite)


@dataclass
class _PhaseHooks(Generic[Hook]):
    """One phase's hooks, a list per resource type in registration order. Those for every
    type are kept apart too, to start the list of a type first named after them."""

    every: list[Hook] = field(default_factory=list)
    by_type: dict[str, list[Hook]] = field(default_factory=dict)

    def add(self, types: WriteTypes, hook: Hook) -> None:
        if types is ALL_TYPES:
            self.every.append(hook)
            for hooks in self.by_type.values():
                hooks.append(hook)
            return
        for resource_type in dict.fromkeys(types):
            self.by_type.setdefault(resource_type, list(self.every)).append(hook)

    def of(self, resource_type: str) -> list[Hook]:
        return self.by_type.get(resource_type, self.every)


def hook_name(hook: Callable[..., None]) -> str:
    """Where a hook is defined, as module.qualified_name (a bound method: Class.method)."""
    qualified = getattr(hook, "__qualname__", type(hook).__qualname__)
    return f"{hook.__module__}.{qualified}"


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
    """A $operation: its OperationDefinition says its name, levels, types and whether it
    changes anything; the handler answers it."""

    definition: OperationDefinition
    handler: Callable[[OperationCall], "Result"]

    @property
    def name(self) -> str:  # without the $
        return self.definition.code

    @property
    def levels(self) -> frozenset[str]:
        return self.definition.levels

    @property
    def types(self) -> frozenset[str] | None:
        return self.definition.types

    @property
    def affects_state(self) -> bool:
        return self.definition.affects_state


@dataclass
class Registry:
    _before_write: _PhaseHooks[BeforeWrite] = field(default_factory=_PhaseHooks)
    _after_write: _PhaseHooks[AfterWrite] = field(default_factory=_PhaseHooks)
    read_filters: list[ReadFilter] = field(default_factory=list)
    event_listeners: list[EventListener] = field(default_factory=list)
    operations: dict[str, Operation] = field(default_factory=dict)
    # What a domain serves beside the stored types, added to CapabilityStatement.rest
    # (the resource entries of routes of its own, extensions of an entry).
    capability_amendments: list[CapabilityAmendment] = field(default_factory=list)
    identifications: list[Identification] = field(default_factory=list)
    request_audit: RequestAudit | None = None
    organization_view: OrganizationView | None = None  # None: no organization is confined

    def add_operation(self, operation: Operation) -> None:
        self.operations[operation.name] = operation

    def operation(self, name: str, level: str, resource_type: str | None) -> Operation | None:
        operation = self.operations.get(name)
        if operation is None or level not in operation.levels:
            return None
        if operation.types is not None and resource_type not in operation.types:
            return None
        return operation

    def on_write(
        self,
        types: WriteTypes,
        *,
        before: BeforeWrite | None = None,
        after: AfterWrite | None = None,
    ) -> None:
        """Registers hooks run on every write of these types (or ALL_TYPES): before, on the
        content about to be stored; after, once it is stored. Each runs after the hooks of
        its phase registered before it."""
        if isinstance(types, str):
            raise TypeError(f"on_write takes a collection of resource types, not '{types}'")
        if before is None and after is None:
            raise TypeError("on_write registers a before hook, an after hook, or both")
        if before is not None:
            self._before_write.add(types, before)
        if after is not None:
            self._after_write.add(types, after)

    def write_hooks(self, resource_type: str) -> list[tuple[str, str]]:
        """The hooks a write of this type runs, as (phase, hook name), in the order run."""
        return [("before", hook_name(h)) for h in self._before_write.of(resource_type)] + [
            ("after", hook_name(h)) for h in self._after_write.of(resource_type)
        ]

    def run_before_write(self, session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
        for hook in self._before_write.of(event.resource_type):
            hook(session, ctx, event)

    def run_after_write(
        self, session: Connection, ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        """Runs the after hooks of the event's type on a version just stored. A domain's own
        follow-on write of a resource (a Slot's shown status, after a booking) calls this
        too, so that it runs the same after hooks as a client's write of that type."""
        for hook in self._after_write.of(event.resource_type):
            hook(session, ctx, event, stored)

    def identification(
        self, ctx: AuthContext, resource_type: str, criteria: list[Criterion]
    ) -> Callable[[Connection, Stored], None] | None:
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
