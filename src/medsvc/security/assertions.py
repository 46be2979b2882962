"""Client authentication by signed assertion (RFC 7523, SMART Backend Services): the JWT a
hospital system signs with its registered key, checked and then accepted only once."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import Connection, delete, exc, insert
from sqlmodel import col

from medsvc import clock
from medsvc.security.clients import InvalidRegistration, find_client, public_key_set
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.tables import OAuthClient, UsedAssertion

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY_TYPES = {"RS384": "RSA", "ES384": "EC"}  # the two SMART Backend Services requires
MAX_LIFETIME = 300  # the assertion's exp at most five minutes ahead
LEEWAY = 30
JWKS_TIMEOUT = 5.0


def _refused(description: str) -> OAuthError:
    return OAuthError("invalid_client", description)


def _unverified(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        compact = jws.extract_compact(assertion.encode())
        claims = orjson.loads(compact.payload)
    except (JoseError, ValueError, TypeError) as error:
        raise _refused("The client assertion is not a signed JWT") from error
    if not isinstance(claims, dict):
        raise _refused("The client assertion is not a signed JWT")
    return dict(compact.headers()), claims


def _registered_keys(client: OAuthClient) -> dict[str, Any]:
    if client.jwks is not None:
        return dict(orjson.loads(client.jwks))
    try:
        response = httpx.get(str(client.jwks_url), timeout=JWKS_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        return public_key_set(response.json())
    except (httpx.HTTPError, ValueError, InvalidRegistration) as error:
        raise _refused("The client's registered key set could not be fetched") from error


def _signing_key(client: OAuthClient, header: dict[str, Any]) -> RSAKey | ECKey:
    """The one registered key with the header's kid and the algorithm's key type."""
    key_type = KEY_TYPES.get(str(header.get("alg")))
    if key_type is None:
        raise _refused(f"Client assertions must be signed with {' or '.join(KEY_TYPES)}")
    jwks = _registered_keys(client)
    matching = [
        k
        for k in jwks.get("keys", [])
        if k.get("kid") == header.get("kid") and k.get("kty") == key_type
    ]
    if len(matching) != 1:
        raise _refused("No single registered key matches the assertion's kid and algorithm")
    key = KeySet.import_key_set({"keys": matching}).keys[0]
    assert isinstance(key, RSAKey | ECKey)
    return key


def _check_claims(claims: dict[str, Any], client_id: str, token_url: str) -> datetime:
    if claims.get("sub") != client_id:
        raise _refused("The assertion's sub must equal its iss, the client id")
    audience = claims.get("aud")
    if token_url not in (audience if isinstance(audience, list) else [audience]):
        raise _refused("The assertion's aud must be this server's token URL")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 255:
        raise _refused("The assertion needs a jti")
    exp, now = claims.get("exp"), clock.now().timestamp()
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise _refused("The assertion needs an exp")
    if exp <= now - LEEWAY:
        raise _refused("The assertion has expired")
    if exp > now + MAX_LIFETIME + LEEWAY:
        raise _refused("The assertion's exp is more than five minutes ahead")
    return datetime.fromtimestamp(exp, UTC)


@dataclass(frozen=True)
class Verified:
    """A system client proven by its assertion, whose jti is yet to be spent."""

    client: OAuthClient
    jti: str
    expires: datetime


def verify(
    connection: Connection, assertion_type: str | None, assertion: str | None, token_url: str
) -> Verified:
    """The hospital system the assertion proves to be calling. Reads only, and may fetch the
    client's keys over the network: it runs before the token's write transaction."""
    if assertion_type != ASSERTION_TYPE or not assertion:
        raise _refused(f"client_assertion_type must be {ASSERTION_TYPE}, with client_assertion")
    header, unverified = _unverified(assertion)
    client = find_client(connection, str(unverified.get("iss", "")))
    if client is None or client.kind != "system":
        raise _refused("The assertion's issuer is not a registered system client")
    key = _signing_key(client, header)
    try:
        claims = jwt.decode(assertion, key, algorithms=[str(header["alg"])]).claims
    except (JoseError, ValueError) as error:
        raise _refused("The client assertion's signature does not verify") from error
    if claims.get("iss") != client.client_id:
        raise _refused("The assertion's iss must be the client id")
    expires = _check_claims(claims, client.client_id, token_url)
    return Verified(client, str(claims["jti"]), expires)


def spend(connection: Connection, verified: Verified) -> None:
    """Records the jti; a second use of it, even in a concurrent request, is refused."""
    connection.execute(delete(UsedAssertion).where(col(UsedAssertion.expires) < clock.now()))
    values = {"issuer": verified.client.client_id, "jti": verified.jti, "expires": verified.expires}
    try:
        with connection.begin_nested():
            connection.execute(insert(UsedAssertion).values(**values))
    except exc.IntegrityError as error:
        raise _refused("This client assertion has been used before") from error
