"""The authorization server's token endpoint and its discovery documents (SMART App Launch
2.x: .well-known/smart-configuration and the CapabilityStatement's rest.security)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from medsvc.security import scopes
from medsvc.security.assertions import KEY_TYPES, authenticate_system
from medsvc.security.oauth_errors import OAuthError
from medsvc.security.tokens import SYSTEM_LIFETIME, TokenService

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


def client_credentials(
    connection: Connection, form: dict[str, str], urls: AuthUrls, tokens: TokenService
) -> dict[str, Any]:
    """SMART Backend Services: a hospital system's assertion exchanged for a short token."""
    client = authenticate_system(
        connection, form.get("client_assertion_type"), form.get("client_assertion"), urls.token
    )
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
        "access_token": tokens.issue(claims, SYSTEM_LIFETIME),
        "token_type": "Bearer",
        "expires_in": SYSTEM_LIFETIME,
        "scope": claims["scope"],
    }


GRANTS = {"client_credentials": client_credentials}


def token(
    connection: Connection, form: dict[str, str], urls: AuthUrls, tokens: TokenService
) -> dict[str, Any]:
    grant = GRANTS.get(form.get("grant_type", ""))
    if grant is None:
        raise OAuthError("unsupported_grant_type", f"grant_type must be one of {', '.join(GRANTS)}")
    return grant(connection, form, urls, tokens)


def smart_configuration(urls: AuthUrls) -> dict[str, Any]:
    return {
        "issuer": urls.issuer,
        "jwks_uri": urls.jwks,
        "token_endpoint": urls.token,
        "grant_types_supported": list(GRANTS),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(KEY_TYPES),
        "scopes_supported": ["system/*.cruds", "system/*.rs"],
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }


def capability_security(urls: AuthUrls) -> dict[str, Any]:
    """CapabilityStatement.rest.security, pointing clients at the endpoints above."""
    return {
        "extension": [{"url": OAUTH_URIS, "extension": [{"url": "token", "valueUri": urls.token}]}],
        "service": [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}]}],
        "description": "OAuth 2.0 bearer tokens from this server (SMART on FHIR).",
    }
