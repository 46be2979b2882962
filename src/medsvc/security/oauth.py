"""The authorization server's token endpoint and its discovery documents (SMART App Launch
2.x: .well-known/smart-configuration and the CapabilityStatement's rest.security)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from medsvc.security import assertions, client_auth, scopes, user_grants
from medsvc.security.assertions import KEY_TYPES
from medsvc.security.client_auth import Caller, TokenRequest
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.signing import ALGORITHM
from medsvc.security.tokens import SYSTEM_LIFETIME, Issuer

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


@dataclass(frozen=True)
class AuthUrls:
    """Where the authorization server's endpoints are, built on the public FHIR base."""

    fhir_base: str

    @property
    def issuer(self) -> str:
        head, _, last = self.fhir_base.rpartition("/")
        return f"{head}/auth" if last == "fhir" else f"{self.fhir_base}/auth"

    @property
    def token(self) -> str:
        return f"{self.issuer}/token"

    @property
    def jwks(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def authorize(self) -> str:
        return f"{self.issuer}/authorize"

    @property
    def revoke(self) -> str:
        return f"{self.issuer}/revoke"

    @property
    def introspect(self) -> str:
        return f"{self.issuer}/introspect"


def client_credentials(
    connection: Connection, request: TokenRequest, issuer: Issuer, caller: Caller
) -> dict[str, Any]:
    """SMART Backend Services: a hospital system's assertion exchanged for a short token."""
    assert caller.assertion is not None  # authenticate() proved it for this grant
    assertions.spend(connection, caller.assertion)
    client, form = caller.client, request.form
    if not form.get("scope"):
        raise OAuthError("invalid_scope", "A scope is required")
    try:
        granted = scopes.narrow(form["scope"], client.scopes, ("system",))
    except scopes.InvalidScope as error:
        raise OAuthError("invalid_scope", str(error)) from error
    if not granted:
        raise OAuthError("invalid_scope", "None of the requested scopes may be granted")
    claims: dict[str, Any] = {
        "sub": client.client_id,
        "client_id": client.client_id,
        "scope": " ".join(granted),
    }
    if client.organization:
        claims["organization"] = client.organization
    else:  # the city platform's own integration acts for every organization
        claims["platform"] = True
    return {
        "access_token": issuer.tokens.issue(claims, SYSTEM_LIFETIME),
        "token_type": "Bearer",
        "expires_in": SYSTEM_LIFETIME,
        "scope": claims["scope"],
    }


Grant = Callable[[Connection, TokenRequest, Issuer, Caller], dict[str, Any]]
GRANTS: dict[str, Grant] = {
    "authorization_code": user_grants.authorization_code,
    "refresh_token": user_grants.refresh_token,
    "client_credentials": client_credentials,
}


def authenticate(connection: Connection, request: TokenRequest, issuer: Issuer) -> Caller:
    """The first half of a token request, outside any write: the grant type is one this
    server offers, and the client is who it says it is."""
    if request.form.get("grant_type", "") not in GRANTS:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of {', '.join(GRANTS)}")
    return client_auth.authenticate(connection, request, issuer.token_url)


def token(
    connection: Connection, request: TokenRequest, issuer: Issuer, caller: Caller
) -> dict[str, Any]:
    """The second half, in the write transaction: the grant itself."""
    return GRANTS[request.form["grant_type"]](connection, request, issuer, caller)


def smart_configuration(urls: AuthUrls) -> dict[str, Any]:
    return {
        "issuer": urls.issuer,
        "jwks_uri": urls.jwks,
        "authorization_endpoint": urls.authorize,
        "token_endpoint": urls.token,
        "revocation_endpoint": urls.revoke,
        "introspection_endpoint": urls.introspect,
        "grant_types_supported": list(GRANTS),
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(KEY_TYPES),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": [
            "openid",
            "fhirUser",
            "launch/patient",
            "offline_access",
            "online_access",
            "patient/*.cruds",
            "user/*.cruds",
            "system/*.cruds",
        ],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "client-confidential-asymmetric",
            "context-standalone-patient",
            "permission-offline",
            "permission-online",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
            "sso-openid-connect",
        ],
    }


def openid_configuration(urls: AuthUrls) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 section 3: what a relying party (another city service
    letting people sign in with their medsvc account) needs to find and check us."""
    smart = smart_configuration(urls)
    named = ("issuer", "jwks_uri", "authorization_endpoint", "token_endpoint")
    return {
        **{name: smart[name] for name in named},
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "scopes_supported": ["openid", "fhirUser"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "fhirUser"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
    }


def capability_security(urls: AuthUrls) -> dict[str, Any]:
    """CapabilityStatement.rest.security, pointing clients at the endpoints above."""
    return {
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [
                    {"url": name, "valueUri": getattr(urls, name)}
                    for name in ("authorize", "token", "revoke", "introspect")
                ],
            }
        ],
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}]}],
        "description": "OAuth 2.0 bearer tokens from this server (SMART on FHIR).",
    }
