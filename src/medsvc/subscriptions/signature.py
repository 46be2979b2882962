"""Notifications signed so their receiver can tell they are ours and whole: a JWS (RFC 7515)
over the exact body, detached (Appendix F), signed with the service's notification keys,
whose public half is published at /auth/notification-keys. A key set of its own: a token the
service signed never verifies as a notification, nor the reverse."""

import base64
from pathlib import Path

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from medsvc.security.signing import ALGORITHM, SigningKeys

HEADER = "X-Medsvc-Signature"
TYPE = "medsvc-notification+jws"


def notification_keys(keys_dir: Path) -> SigningKeys:
    return SigningKeys(keys_dir / "notification-signing")


def sign(keys: SigningKeys, body: bytes) -> str:
    """The detached compact JWS of the body: `header..signature`."""
    key = keys.active()
    protected = {"alg": ALGORITHM, "kid": key.kid, "typ": TYPE}
    header, _payload, signature = jws.serialize_compact(protected, body, key).split(".")
    return f"{header}..{signature}"


def verify(key_set: KeySet, body: bytes, signature: str) -> bool:
    """Whether the signature is a notification signature of this body by one of the keys (what
    a receiver does, with the published key set)."""
    header, empty, signed = signature.partition("..")
    if not empty or not header or not signed:
        return False
    payload = base64.urlsafe_b64encode(body).rstrip(b"=").decode()
    try:
        token = jws.deserialize_compact(f"{header}.{payload}.{signed}", key_set)
    except (JoseError, ValueError):  # not a JWS, or not one of these keys
        return False
    return token.headers().get("typ") == TYPE and token.payload == body
