"""Access tokens: JWTs this server signs (RFC 9068 profile), and their check on every request."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet
from joserfc.jwt import JWTClaimsRegistry

from medsvc import clock
from medsvc.errors import Unauthorized
from medsvc.security.acting import ActingFor, NoOne
from medsvc.security.signing import ALGORITHM, SigningKeys

# RFC 9068 typ: keeps an id_token from passing as an access token
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
USER_LIFETIME = 3600  # SMART App Launch: access tokens SHOULD live no more than an hour
SYSTEM_LIFETIME = 300  # SMART Backend Services: SHOULD NOT exceed five minutes
CLOCK_LEEWAY = 30


def _now() -> int:
    return int(clock.now().timestamp())


def invalid_token(description: str) -> Unauthorized:
    # RFC 6750 section 3: the challenge names the error; the reason stays out of it.
    challenge = 'Bearer realm="medsvc", error="invalid_token"'
    return Unauthorized(description, headers={"WWW-Authenticate": challenge})


class TokenService:
    """Signs access tokens for the authorization server and checks them for the FHIR API."""

    def __init__(self, keys: SigningKeys, issuer: str, audience: str):
        self.keys, self.issuer, self.audience = keys, issuer, audience
        self._claims = JWTClaimsRegistry(
            now=_now,
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )

    def _sign(self, claims: dict[str, Any], lifetime: int, token_type: str) -> str:
        now = _now()
        key = self.keys.active()
        full = {"iss": self.issuer, "iat": now, "exp": now + lifetime, **claims}
        header = {"alg": ALGORITHM, "kid": key.kid, "typ": token_type}
        return jwt.encode(header, full, key, algorithms=[ALGORITHM])

    def issue(self, claims: dict[str, Any], lifetime: int) -> str:
        """An access token for the FHIR API."""
        unique = {"aud": self.audience, "jti": str(uuid.uuid4())}
        return self._sign({**unique, **claims}, lifetime, ACCESS_TOKEN_TYPE)

    def id_token(self, claims: dict[str, Any], client_id: str) -> str:
        """An OpenID Connect id_token, addressed to the app."""
        return self._sign({"aud": client_id, **claims}, USER_LIFETIME, "JWT")

    def _verifying_keys(self, token: GuestProtocol) -> KeySet:
        kid = token.headers().get("kid")
        return self.keys.verifying(kid if isinstance(kid, str) else None)

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """The token's claims; 401 invalid_token when it is not one of ours, or not now."""
        try:
            decoded = jwt.decode(token, self._verifying_keys, algorithms=[ALGORITHM])
            if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
                raise invalid_token("The bearer token is not an access token")
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise invalid_token("The bearer token is invalid or expired") from error
        return dict(decoded.claims)


@dataclass(frozen=True)
class Issuer:
    """What the token endpoint's grants issue with: the signer, the URLs tokens name, and
    the access policy's word on whom a person may act for (checked at every refresh)."""

    tokens: TokenService
    fhir_base: str
    token_url: str
    acting_for: ActingFor = field(default_factory=NoOne)
