"""Registered OAuth clients: apps (public with PKCE, or confidential) and hospital systems
(SMART Backend Services, authenticated by a signed assertion against their registered keys)."""

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Connection, insert, select
from sqlmodel import col

from medsvc.security import scopes
from medsvc.security.tables import OAuthClient

# What a citizen's app needs (SMART App Launch 2.x scopes): its person's Patient (contact
# details, $release-choice), booking with $find, $hold, $book and $cancel (Slot search,
# Appointment create and update), the directory it shows, and their results to read.
CITIZEN_APP_SCOPES = " ".join(
    [
        "patient/Patient.rus",
        "patient/Appointment.crus",
        "patient/RelatedPerson.crus",  # who may act for the person: asking, ending
        *(
            f"patient/{t}.rs"
            for t in (
                "Slot",
                "Schedule",
                "Organization",
                "Location",
                "HealthcareService",
                "Practitioner",
                "PractitionerRole",
                "DiagnosticReport",
                "Observation",
                "DocumentReference",
                "Communication",
                "Binary",  # rs like the rest, so that asking again for patient/*.rs is no more
            )
        ),
    ]
)
# An app's default: a citizen's app, which doctors may sign in to for reading their
# schedules; an app that writes more is registered with its scopes (--scope).
APP_SCOPES = (
    "openid fhirUser launch launch/patient offline_access online_access "
    f"{CITIZEN_APP_SCOPES} user/*.rs"
)
SYSTEM_SCOPES = "system/*.cruds"


class InvalidRegistration(ValueError):
    """A client registration the server refuses; the message says why."""


@dataclass(frozen=True)
class Registered:
    client_id: str
    client_secret: str | None = None


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _check_redirect_uri(uri: str) -> str:
    """Absolute, no fragment; https, or http on a loopback host, or a native app's own
    scheme (RFC 8252 section 7)."""
    parts = urlsplit(uri)
    if (
        not parts.scheme
        or parts.fragment
        or (parts.scheme in ("http", "https") and not parts.netloc)
    ):
        raise InvalidRegistration(f"redirect URI must be absolute, without a fragment: {uri}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise InvalidRegistration(f"redirect URI must use https unless on loopback: {uri}")
    return uri


def _check_jwks_url(url: str) -> str:
    """https, or http on a loopback host: the keys that prove a hospital system."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not (secure and parts.netloc):
        raise InvalidRegistration(f"the JWKS URL must use https unless on loopback: {url}")
    return url


def _check_scopes(text: str, contexts: tuple[str, ...]) -> str:
    for scope in scopes.split(text):
        if scope in scopes.IDENTITY_SCOPES and "system" not in contexts:
            continue
        try:
            parsed = scopes.parse_resource_scope(scope)
        except scopes.InvalidScope as error:
            raise InvalidRegistration(str(error)) from error
        if parsed.context not in contexts:
            raise InvalidRegistration(f"{scope}: this kind of client may hold only {contexts}")
    return " ".join(scopes.split(text))


def public_key_set(jwks: Any) -> dict[str, Any]:
    """A registered JWKS: public RSA or EC keys, each with a kid."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise InvalidRegistration("the JWKS must be an object with a non-empty 'keys' list")
    for key in jwks["keys"]:
        if not isinstance(key, dict) or key.get("kty") not in ("RSA", "EC") or not key.get("kid"):
            raise InvalidRegistration("every key must be an RSA or EC key with a kid")
        if "d" in key:
            raise InvalidRegistration(
                f"key {key['kid']} holds a private part; register public keys"
            )
    try:
        KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as error:
        raise InvalidRegistration(f"the JWKS cannot be read: {error}") from error
    return jwks


def hash_secret(secret: str) -> str:
    """How the server stores the random secrets it hands out (client secrets, codes, refresh
    tokens): 256 random bits are out of reach of guessing, so a fast hash suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: OAuthClient, secret: str) -> bool:
    return client.secret_hash is not None and hmac.compare_digest(
        client.secret_hash, hash_secret(secret)
    )


def add_app(
    connection: Connection,
    now: datetime,
    *,
    name: str,
    redirect_uris: list[str],
    scope: str | None = None,
    confidential: bool = False,
    known: Registered | None = None,
) -> Registered:
    """Registers an app under a new id (and secret, if confidential), or under the id and
    secret it already holds (known: the server's own app, whose secret lives in a key file)."""
    if not redirect_uris:
        raise InvalidRegistration("an app needs at least one redirect URI")
    uris = [_check_redirect_uri(u) for u in redirect_uris]
    secret = secrets.token_urlsafe(32) if confidential else None
    client_id = str(uuid.uuid4())
    if known is not None:
        client_id, secret = known.client_id, known.client_secret
    connection.execute(
        insert(OAuthClient).values(
            client_id=client_id,
            name=name,
            kind="app",
            created=now,
            secret_hash=hash_secret(secret) if secret else None,
            redirect_uris=json.dumps(uris),
            scopes=_check_scopes(scope or APP_SCOPES, ("patient", "user")),
        )
    )
    return Registered(client_id, secret)


def add_system(
    connection: Connection,
    now: datetime,
    *,
    name: str,
    organization: str | None,
    jwks: dict[str, Any] | None = None,
    jwks_url: str | None = None,
    scope: str | None = None,
) -> Registered:
    if (jwks is None) == (jwks_url is None):
        raise InvalidRegistration("a system client needs either a JWKS or a JWKS URL")
    if jwks_url is not None:
        _check_jwks_url(jwks_url)
    client_id = str(uuid.uuid4())
    connection.execute(
        insert(OAuthClient).values(
            client_id=client_id,
            name=name,
            kind="system",
            created=now,
            organization=organization,
            jwks_url=jwks_url,
            jwks=json.dumps(public_key_set(jwks)) if jwks is not None else None,
            scopes=_check_scopes(scope or SYSTEM_SCOPES, ("system",)),
        )
    )
    return Registered(client_id)


def find_client(connection: Connection, client_id: str) -> OAuthClient | None:
    row = connection.execute(
        select(OAuthClient).where(col(OAuthClient.client_id) == client_id)
    ).first()
    return OAuthClient.model_validate(row._mapping) if row else None
