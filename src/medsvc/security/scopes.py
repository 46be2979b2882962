"""SMART App Launch scopes (v1 and v2 forms): parsing, narrowing a request to what a client
may have, and whether a caller's granted scopes allow an interaction."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qsl

from medsvc.errors import Forbidden

PERMISSION_ORDER = "cruds"
# SMART v2 permissions by FHIR interaction (SMART App Launch 2.x, "Scopes for requesting
# FHIR resources"): read also covers vread and history, of an instance or a type.
PERMISSION = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
CONTEXTS = ("patient", "user", "system")
# Scopes that grant no resource access but ask for launch context or identity.
IDENTITY_SCOPES = frozenset(
    {"openid", "fhirUser", "profile", "launch", "launch/patient", "offline_access", "online_access"}
)
_RESOURCE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.([a-z*]{1,5})(\?.*)?$")


class InvalidScope(ValueError):
    """A scope string that is not a SMART scope this server understands."""


@dataclass(frozen=True)
class ResourceScope:
    """One resource scope: `patient/Observation.rs?category=laboratory` and its v1 forms."""

    context: str
    resource_type: str  # a FHIR type or "*"
    permissions: str  # a subsequence of "cruds"
    query: tuple[tuple[str, str], ...] = ()  # a v2 granular restriction

    def allows(self, resource_type: str, permission: str) -> bool:
        return permission in self.permissions and self.resource_type in ("*", resource_type)

    def within(self, allowed: ResourceScope) -> ResourceScope | None:
        """The part of this scope that `allowed` permits, or None when it permits none of it:
        a wildcard asked of a client allowed one type gets that type."""
        types = (allowed.resource_type, self.resource_type)
        if allowed.context != self.context or ("*" not in types and types[0] != types[1]):
            return None
        if allowed.query and allowed.query != self.query:
            return None
        permissions = "".join(p for p in self.permissions if p in allowed.permissions)
        if not permissions:
            return None
        resource_type = allowed.resource_type if self.resource_type == "*" else self.resource_type
        return ResourceScope(self.context, resource_type, permissions, self.query)

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.context}/{self.resource_type}.{self.permissions}" + (
            f"?{query}" if query else ""
        )


def _permissions(text: str) -> str:
    if text in V1_PERMISSIONS:
        return V1_PERMISSIONS[text]
    letters = [p for p in PERMISSION_ORDER if p in text]
    if not text or "".join(letters) != text:
        raise InvalidScope(
            f"permissions must be read, write, * or letters of cruds in order: {text}"
        )
    return text


def parse_resource_scope(scope: str) -> ResourceScope:
    match = _RESOURCE.match(scope)
    if not match:
        raise InvalidScope(f"not a SMART resource scope: {scope}")
    context, resource_type, permissions, query = match.groups()
    try:
        pairs = tuple(parse_qsl(query[1:], strict_parsing=True)) if query else ()
    except ValueError as error:
        raise InvalidScope(f"the scope's query is malformed: {scope}") from error
    if query and permissions in V1_PERMISSIONS:
        raise InvalidScope(f"v1 scopes take no query: {scope}")
    return ResourceScope(context, resource_type, _permissions(permissions), pairs)


def split(text: str | None) -> list[str]:
    return [s for s in (text or "").split(" ") if s]


def narrow(requested: str | None, allowed: str, contexts: tuple[str, ...]) -> list[str]:
    """The requested scopes, each cut down to what the allowed scopes permit; scopes in other
    contexts than `contexts`, or outside what is allowed, are dropped. Raises InvalidScope on
    a scope that is not SMART at all."""
    allowed_identity = {s for s in split(allowed) if s in IDENTITY_SCOPES}
    allowed_resources = [
        parse_resource_scope(s) for s in split(allowed) if s not in IDENTITY_SCOPES
    ]
    granted: list[str] = []
    for scope in split(requested):
        if scope in IDENTITY_SCOPES:
            if scope in allowed_identity:
                granted.append(scope)
            continue
        wanted = parse_resource_scope(scope)
        if wanted.context not in contexts:
            continue
        parts = [p for a in allowed_resources if (p := wanted.within(a))]
        for resource_type in dict.fromkeys(p.resource_type for p in parts):
            best = max(
                (p for p in parts if p.resource_type == resource_type),
                key=lambda p: len(p.permissions),
            )
            if str(best) not in granted:
                granted.append(str(best))
    return granted


def wholly_within(scope: str, allowed: str, contexts: tuple[str, ...]) -> bool:
    """Whether what the allowed scopes grant of a requested one is all it asks, on every type
    they grant it for (a refresh asking again for its wildcard scope asks nothing new)."""
    granted = narrow(scope, allowed, contexts)
    if scope in IDENTITY_SCOPES:
        return granted == [scope]
    wanted = parse_resource_scope(scope).permissions
    return bool(granted) and all(parse_resource_scope(g).permissions == wanted for g in granted)


def resource_scopes(scopes: frozenset[str]) -> tuple[ResourceScope, ...]:
    """The resource scopes among granted ones (identity scopes grant no data access)."""
    return tuple(parse_resource_scope(s) for s in sorted(scopes) if s not in IDENTITY_SCOPES)


class Granted(Protocol):
    """What a caller was granted (an AuthContext): all that require() reads of one."""

    @property
    def grants(self) -> tuple[ResourceScope, ...]: ...


def require(ctx: Granted, resource_type: str, interaction: str) -> None:
    """Raises 403 unless a granted scope allows the interaction on the type. Which resources
    of the type the caller may reach is the compartments' concern (access/compartments.py)."""
    permission = PERMISSION[interaction]
    if not any(s.allows(resource_type, permission) for s in ctx.grants):
        raise Forbidden(f"The granted scopes do not allow {interaction} on {resource_type}")
