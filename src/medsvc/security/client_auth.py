"""How a client proves itself at the token endpoint: an app by its id, and its secret when it
has one (HTTP Basic or client_secret_post, RFC 6749 section 2.3.1); a hospital system by a
signed assertion (assertions.py)."""

from dataclasses import dataclass

from sqlalchemy import Connection

from medsvc.security.assertions import Verified, verify
from medsvc.security.clients import find_client, secret_matches
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.tables import OAuthClient


@dataclass(frozen=True)
class TokenRequest:
    form: dict[str, str]
    basic: tuple[str, str] | None = None  # client id and secret from an Authorization header


@dataclass(frozen=True)
class Caller:
    """The client a token request comes from, authenticated before its write transaction."""

    client: OAuthClient
    assertion: Verified | None = None  # a system client's, spent in the write transaction


def authenticate(connection: Connection, request: TokenRequest, token_url: str) -> Caller:
    """Who is asking: a system by its assertion (client_credentials), an app otherwise."""
    form = request.form
    if form.get("grant_type") == "client_credentials":
        verified = verify(
            connection, form.get("client_assertion_type"), form.get("client_assertion"), token_url
        )
        return Caller(verified.client, verified)
    return Caller(authenticate_app(connection, request))


def _refused(request: TokenRequest, description: str) -> OAuthError:
    # A client that tried HTTP Basic gets 401 and a Basic challenge (section 5.2).
    return OAuthError("invalid_client", description, status=401 if request.basic else 400)


def authenticate_app(connection: Connection, request: TokenRequest) -> OAuthClient:
    form = request.form
    secret: str | None
    if request.basic:
        client_id, secret = request.basic
        if form.get("client_id", client_id) != client_id or "client_secret" in form:
            raise OAuthError("invalid_request", "Authenticate the client one way only")
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
    client = find_client(connection, client_id)
    if client is None or client.kind != "app":
        raise _refused(request, "The client is not a registered app")
    if client.secret_hash is not None and not (secret and secret_matches(client, secret)):
        raise _refused(request, "The client secret is missing or wrong")
    if client.secret_hash is None and secret:
        raise _refused(request, "A public client has no secret")
    return client
