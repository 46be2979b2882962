"""GET /auth/notification-keys: the public keys a receiver verifies notifications with (a
JWK Set, RFC 7517), beside the token keys at /auth/jwks and apart from them."""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from medsvc.fhir import jsonio
from medsvc.subscriptions.signature import notification_keys


async def notification_jwks(request: Request) -> Response:
    keys = notification_keys(request.app.state.settings.keys_dir)
    keys.active()  # published before the first notification is signed
    return Response(
        jsonio.dumps(keys.public_jwks()),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


ROUTES = [Route("/auth/notification-keys", notification_jwks, methods=["GET"])]
