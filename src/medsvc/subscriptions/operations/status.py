"""Subscription/[id]/$status (R4B subscription-operation-status): where a subscription
stands, as a SubscriptionStatus in a searchset Bundle: its status and how many events it has
had (a receiver back from downtime compares that with the last number it received)."""

import uuid

from medsvc.fhir import jsonio
from medsvc.fhir.answers import Result
from medsvc.fhir.definitions import Definitions
from medsvc.fhir.registry import Operation, OperationCall
from medsvc.subscriptions.notification import status_resource
from medsvc.subscriptions.operations.access import subscription_of


def status(call: OperationCall) -> Result:
    state, _channel = subscription_of(call)
    resource = status_resource(call.server.base_url, state, "query-status", [], set())
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.uuid4()}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        ],
    }
    return Result(200, body=jsonio.dumps(bundle))


def operation(definitions: Definitions) -> Operation:
    return Operation(
        "status",
        frozenset({"instance"}),
        status,
        definitions.operations["status"],
        types=frozenset({"Subscription"}),
    )
