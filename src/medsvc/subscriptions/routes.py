"""What a hospital reads before it subscribes, with no sign-in (as /fhir/metadata): the
topics (GET /fhir/SubscriptionTopic, by id or `url`), and the public keys its receiver
verifies notifications with (GET /auth/notification-keys, a JWK Set, RFC 7517), beside the
token keys at /auth/jwks and apart from them."""

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc.errors import Issue, operation_outcome
from medsvc.fhir import CONTENT_TYPE, jsonio
from medsvc.subscriptions import topics
from medsvc.subscriptions.signature import notification_keys


async def notification_jwks(request: Request) -> Response:
    keys = notification_keys(request.app.state.settings.keys_dir)
    keys.active()  # published before the first notification is signed
    return Response(
        jsonio.dumps(keys.public_jwks()),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


def _fhir(body: dict[str, Any], status: int = 200) -> Response:
    return Response(jsonio.dumps(body), status, media_type=CONTENT_TYPE)


async def topic_search(request: Request) -> Response:
    wanted = request.query_params.getlist("url")
    found = [t.resource for t in topics.topics().values() if not wanted or t.url in wanted]
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [
            {
                "fullUrl": f"{_base(request)}/SubscriptionTopic/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in found
        ],
    }
    return _fhir(bundle)


async def topic_read(request: Request) -> Response:
    topic_id = request.path_params["topic_id"]
    found = [t.resource for t in topics.topics().values() if t.resource["id"] == topic_id]
    if not found:
        outcome = operation_outcome(
            [Issue(f"SubscriptionTopic/{topic_id} is not known", "not-found")]
        )
        return _fhir(outcome, 404)
    return _fhir(found[0])


def _base(request: Request) -> str:
    return str(request.app.state.settings.base_url)


ROUTES = [
    Route("/auth/notification-keys", notification_jwks, methods=["GET"]),
    Route("/fhir/SubscriptionTopic", topic_search, methods=["GET"]),
    Route("/fhir/SubscriptionTopic/{topic_id}", topic_read, methods=["GET"]),
]
