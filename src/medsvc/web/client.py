"""The app as an OAuth client of this server: a confidential client whose id and secret live
in a key file (made on first start, shared by every process of a deployment), registered in
the database when first needed, with the redirect URI of the deployment's public address."""

import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Connection, update

from medsvc.kit import keyfiles
from medsvc.security import clients
from medsvc.security.tables import OAuthClient

NAME = "medsvc"
SUFFIX = ".client.json"
# What the app asks for (SMART App Launch 2.x): who signed in, their record's context, a
# refresh token for as long as the session (online_access), a citizen's app's scopes, and a
# doctor's reads of their schedule and patients' records and their marking of a visit
# (arrived, fulfilled, no-show); the server grants each role only what it may hold.
SCOPE = (
    f"openid fhirUser launch/patient online_access {clients.CITIZEN_APP_SCOPES} "
    "user/*.rs user/Appointment.u"
)


@dataclass(frozen=True)
class AppClient:
    client_id: str
    secret: str
    fhir_base: str  # the public FHIR base, e.g. https://care.example.city/fhir

    @property
    def origin(self) -> str:
        return self.fhir_base.removesuffix("/fhir")

    @property
    def redirect_uri(self) -> str:
        return f"{self.origin}/app/callback"


def _write(directory: Path) -> None:
    content = {"client_id": str(uuid.uuid4()), "secret": secrets.token_urlsafe(32)}
    keyfiles.write_new(directory, "app", SUFFIX, json.dumps(content).encode())


def load(keys_dir: Path, fhir_base: str) -> AppClient:
    directory = keys_dir / "web"
    keyfiles.ensure_first(directory, SUFFIX, _write)
    content = json.loads(keyfiles.oldest_first(directory, SUFFIX)[0].read_text())
    return AppClient(content["client_id"], content["secret"], fhir_base)


def ensure_registered(connection: Connection, client: AppClient, now: datetime) -> None:
    """Registers the app, or brings its registration up to date: the redirect URI at the
    current public address, the scopes this version asks for."""
    found = clients.find_client(connection, client.client_id)
    uris = json.dumps([client.redirect_uri])
    if found is None:
        known = clients.Registered(client.client_id, client.secret)
        clients.add_app(
            connection,
            now,
            name=NAME,
            redirect_uris=[client.redirect_uri],
            scope=SCOPE,
            confidential=True,
            known=known,
        )
    elif found.redirect_uris != uris or found.scopes != SCOPE:
        connection.execute(
            update(OAuthClient)
            .where(OAuthClient.client_id == client.client_id)  # type: ignore[arg-type]
            .values(redirect_uris=uris, scopes=SCOPE)
        )


def challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_location(
    client: AppClient, state: str, verifier: str, prompt: str | None = None
) -> str:
    """Where the browser goes to sign in: this server's authorization endpoint (with
    prompt=select_account, to choose again whom the app acts for)."""
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": SCOPE,
        "state": state,
        "aud": client.fhir_base,
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
    } | ({"prompt": prompt} if prompt else {})
    return f"/auth/authorize?{urlencode(params)}"
