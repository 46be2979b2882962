"""The AuthContext every request and job runs under, and the dependency that produces it."""

import logging
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from medsvc.config import Settings
from medsvc.errors import Forbidden, Unauthorized
from medsvc.security.scopes import ResourceScope, resource_scopes, split
from medsvc.security.tokens import invalid_token

log = logging.getLogger("medsvc.security")


@dataclass(frozen=True)
class AuthContext:
    """Who is acting: a person through an app, a hospital system, or the platform itself."""

    subject: str
    client_id: str | None = None
    patient: str | None = None  # "Patient/123" when acting for one citizen
    practitioner: str | None = None
    organization: str | None = None  # "Organization/7" for a hospital system
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_platform: bool = False  # the city platform itself: jobs, the CLI, open mode
    token_id: str | None = None  # the access token's jti, by which it can be revoked
    role: str | None = None  # a person's: patient, practitioner or admin
    # The proxy relationship when the person acts for another (patient is that person's).
    proxy: str | None = None
    # The $operation (without the $) whose handler is writing, when one is: some writes a
    # role makes only through an operation's own rules (a citizen's $book).
    operation: str | None = None
    grants: tuple[ResourceScope, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grants", resource_scopes(self.scopes))

    @property
    def unrestricted(self) -> bool:
        return self.is_platform


def platform_context(subject: str) -> AuthContext:
    """The explicit context of jobs, the CLI and open mode: acts for the whole platform."""
    return AuthContext(subject=subject, is_platform=True, scopes=frozenset({"system/*.cruds"}))


def context_from_claims(claims: dict[str, Any]) -> AuthContext:
    """The context an access token of this server describes (claims set by oauth.py and
    user_grants.py)."""
    fhir_user = str(claims.get("fhirUser") or "")
    practitioner = fhir_user if fhir_user.startswith("Practitioner/") else None
    return AuthContext(
        subject=str(claims["sub"]),
        client_id=str(claims["client_id"]),
        patient=f"Patient/{claims['patient']}" if claims.get("patient") else None,
        practitioner=practitioner,
        organization=claims.get("organization"),
        scopes=frozenset(split(claims.get("scope"))),
        is_platform=bool(claims.get("platform")),
        token_id=str(claims["jti"]) if claims.get("jti") else None,
        role=claims.get("role"),
        proxy=str(claims["proxy"]) if claims.get("proxy") else None,
    )


OPEN_CONTEXT = platform_context("open-mode")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def open_mode_refusal(settings: Settings, host: str | None) -> str | None:
    """Why open mode may not run here, or None when it may (loopback host with SQLite only)."""
    if settings.auth_mode != "open":
        return None
    if not settings.is_sqlite:
        return "MEDSVC_AUTH_MODE=open is allowed only with the embedded SQLite database"
    if host is not None and host not in LOOPBACK:
        return f"MEDSVC_AUTH_MODE=open is allowed only on a loopback host, not {host}"
    return None


def phone_codes_refusal(settings: Settings, host: str | None) -> str | None:
    """Why one-time codes may not be written to the log here: like open mode, a local trial
    only, and never beside a real gateway (a code in a log would sign its reader up)."""
    if not settings.phone_codes_to_log:
        return None
    if settings.notify_webhook_url:
        return "MEDSVC_PHONE_CODES_TO_LOG is for a trial without a gateway; unset one of them"
    if not settings.is_sqlite:
        return "MEDSVC_PHONE_CODES_TO_LOG is allowed only with the embedded SQLite database"
    if host is not None and host not in LOOPBACK:
        return f"MEDSVC_PHONE_CODES_TO_LOG is allowed only on a loopback host, not {host}"
    return None


def local_trial_refusal(settings: Settings, host: str | None) -> str | None:
    """Why the settings of a local trial (open mode, codes in the log) may not run here."""
    return open_mode_refusal(settings, host) or phone_codes_refusal(settings, host)


def _bearer(request: Request) -> str:
    kind, _, token = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required")
    return token.strip()


async def auth_context(request: Request) -> AuthContext:
    """The FastAPI dependency every FHIR route depends on (async: it never blocks)."""
    settings: Settings = request.app.state.settings
    if settings.auth_mode == "open":
        client = request.client.host if request.client else None
        if client not in LOOPBACK:  # however the server was started, open mode stays local
            raise Forbidden("Open mode answers only callers on this machine")
        return OPEN_CONTEXT
    token = _bearer(request)
    claims = request.app.state.tokens.verify_access_token(token)
    revoked = request.app.state.revoked
    if await revoked.refuses(claims, request.app.state.executors["read"]):
        raise invalid_token("The bearer token has been revoked")
    return context_from_claims(claims)
