"""Signing in with another service's account: an OpenID Connect relying party (OpenID Connect
Core 1.0, authorization code flow, with PKCE, RFC 7636). The provider's discovery document
and keys, the request the person is sent with, and the id_token accepted back."""

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet
from joserfc.jwt import JWTClaimsRegistry

from medsvc.config import Settings

TIMEOUT = 5.0  # seconds for each call to the provider: a person is waiting
# Signatures an id_token may carry: asymmetric only (no "none", no HMAC with our secret).
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
LEEWAY = 60  # seconds of clock difference between the provider and us
MAX_SUBJECT = 255  # OIDC Core 2: sub is at most 255 ASCII characters


class SignInFailed(Exception):
    """The provider's answer cannot sign anyone in; the message says why, in English, for the
    log (never shown to the person, never a token)."""


@dataclass(frozen=True)
class Request:
    """What the person is sent to the provider with, and what checks the answer."""

    url: str
    state: str
    nonce: str
    verifier: str


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class RelyingParty:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    subject_claim: str
    redirect_uri: str
    _metadata: dict[str, Any] | None = field(default=None, repr=False)
    _keys: KeySet | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, settings: Settings, redirect_uri: str) -> "RelyingParty | None":
        if not settings.oidc_issuer:
            return None
        return cls(
            settings.oidc_issuer,  # compared exactly (OIDC Discovery 4.3)
            settings.oidc_client_id,
            settings.oidc_client_secret,
            settings.oidc_scopes,
            settings.oidc_subject_claim,
            redirect_uri,
        )

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=TIMEOUT, follow_redirects=False)
            response.raise_for_status()
            found = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed(f"{url}: {type(error).__name__}") from None
        if not isinstance(found, dict):
            raise SignInFailed(f"{url}: not a JSON object")
        return found

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (OpenID Connect Discovery 1.0 section 4), read
        once; its issuer must be the one configured (section 4.3)."""
        with self._lock:
            if self._metadata is None:
                where = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
                found = self._get(where)
                if found.get("issuer") != self.issuer:
                    raise SignInFailed("the discovery document names another issuer")
                for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(name), str):
                        raise SignInFailed(f"the discovery document has no {name}")
                self._metadata = found
            return self._metadata

    def start(self) -> Request:
        """A new request: fresh state, nonce and PKCE verifier."""
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": _challenge(verifier),
            "code_challenge_method": "S256",
        }
        url = f"{self.metadata()['authorization_endpoint']}?{urlencode(query)}"
        return Request(url, state, nonce, verifier)

    def _token_response(self, code: str, verifier: str) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        try:
            response = httpx.post(
                self.metadata()["token_endpoint"],
                data=form,
                auth=(self.client_id, self.client_secret),  # client_secret_basic
                timeout=TIMEOUT,
                follow_redirects=False,
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise SignInFailed(f"token endpoint: {type(error).__name__}") from None
        if response.status_code != 200 or not isinstance(body, dict):
            raise SignInFailed(f"token endpoint: HTTP {response.status_code}")
        return body

    def _verifying_keys(self, token: GuestProtocol) -> KeySet:
        """The provider's keys; read again once for a key id not among them (a rotation)."""
        kid = token.headers().get("kid")
        with self._lock:
            known = self._keys is not None and (
                kid is None or any(k.kid == kid for k in self._keys.keys)
            )
        if not known:
            keys = KeySet.import_key_set(self._get(self.metadata()["jwks_uri"]))  # type: ignore[arg-type]
            with self._lock:
                self._keys = keys
        assert self._keys is not None
        return self._keys

    def subject(self, code: str, request: Request) -> str:
        """The person's subject at the provider, from the id_token the code is exchanged for:
        signed by the provider, for us, now, and for this request (its nonce)."""
        id_token = self._token_response(code, request.verifier).get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the token response has no id_token")
        try:
            decoded = jwt.decode(id_token, self._verifying_keys, algorithms=ALGORITHMS)
            JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": request.nonce},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise SignInFailed(f"the id_token is not acceptable: {type(error).__name__}") from None
        return self._subject_of(decoded.claims)

    def _subject_of(self, claims: dict[str, Any]) -> str:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:  # OIDC Core 3.1.3.7
            raise SignInFailed("the id_token is for several parties and not authorised for us")
        subject = claims.get(self.subject_claim)
        if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT:
            raise SignInFailed(f"the id_token has no usable {self.subject_claim}")
        return subject
