"""Subscription/[id]/$events (R4B subscription-operation-events): the events a receiver
missed, by number, as a query-event notification Bundle: from eventsSinceNumber to
eventsUntilNumber (both inclusive), at most the channel's maximum count at a time, each focus
shown only if the subscriber may still read it, in the subscription's payload content
(or `content`)."""

from dataclasses import replace

from medsvc import clock
from medsvc.errors import Invalid
from medsvc.fhir import Definitions, Operation, OperationCall, Result, jsonio, read_inputs
from medsvc.subscriptions.channel import CONTENTS
from medsvc.subscriptions.notification import bundle, events_between, shown
from medsvc.subscriptions.operations.access import subscription_of


def _number(call: OperationCall, name: str, default: int) -> int:
    value = read_inputs(call).one(name)
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise Invalid(f"{name} is an event number (a whole number)") from None
    if number < 0:
        raise Invalid(f"{name} is an event number (a whole number)")
    return number


def events(call: OperationCall) -> Result:
    state, channel = subscription_of(call)
    first = _number(call, "eventsSinceNumber", 1)
    last = min(
        _number(call, "eventsUntilNumber", state.events_since_start), state.events_since_start
    )
    content = read_inputs(call).one("content")
    if content is not None:
        if content not in CONTENTS:
            raise Invalid(f"content is one of {', '.join(CONTENTS)}")
        channel = replace(channel, content=str(content))
    session = call.session
    found = events_between(session, state.subscription_id, first - 1, last, channel.max_events)
    seen = shown(session, call.server.registry.organization_view, state.organization, found)
    body = bundle(call.server, session, state, channel, "query-event", found, seen, clock.now())
    return Result(200, body=jsonio.dumps(body))


def operation(definitions: Definitions) -> Operation:
    return Operation(definitions.operation("Subscription-events"), events)
