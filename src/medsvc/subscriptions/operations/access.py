"""The Subscription an operation is about, if the caller may read it (its own hospital's)."""

from typing import Any

from sqlalchemy import select

from medsvc.fhir import OperationCall, interactions, jsonio
from medsvc.security import scopes
from medsvc.subscriptions.channel import Channel, channel_of
from medsvc.subscriptions.outbox import STATE, S


def subscription_of(call: OperationCall) -> tuple[Any, Channel]:
    """Its state row and channel; 404 when unknown or not the caller's to see."""
    assert call.resource_id is not None
    scopes.require(call.ctx, "Subscription", "read")
    current = interactions.visible_current(
        call.server, call.session, call.ctx, "Subscription", call.resource_id
    )
    state = call.session.execute(select(STATE).where(S.subscription_id == current.id)).one()
    return state, channel_of(jsonio.loads_stored(current.content or b"{}"))
