"""The demo's people and clients: citizens and doctors who sign in, an app to sign in
through, and the hospital's system client with its private key under ./var/demo; and
`medsvc demo token`, which gets a token from the running server as each of them would."""

import base64
import hashlib
import json
import os
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import Connection

from medsvc import clock
from medsvc.config import Settings
from medsvc.security import accounts, clients
from medsvc.security.oauth import AuthUrls

DEMO_DIR = Path("var/demo")
STATE = "access.json"
REDIRECT_URI = "http://127.0.0.1/demo-callback"  # never loaded: the code is read off the URL
# A citizen's app, which the demo's doctors also sign in to, to read their schedules.
APP_SCOPE = f"openid fhirUser launch/patient offline_access {clients.CITIZEN_APP_SCOPES} user/*.rs"


def _save(directory: Path, name: str, content: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(content, file, indent=2)


def load_state(directory: Path = DEMO_DIR) -> dict[str, Any] | None:
    path = directory / STATE
    return dict(json.loads(path.read_text())) if path.exists() else None


# Who signs in to the demo: the demo key of the resource they sign in as, and who they are.
PEOPLE = {
    "mei": ("pat-mei", "李梅, a citizen: visits past and coming, results (HbA1c's trend, a PDF)"),
    "jian": ("pat-jian", "李建国, her father: a visit coming"),
    "dr.wang": ("dr-wang", "王芳, 心内科 (Cardiology), 市第一人民医院: a full day today"),
    "dr.chen": ("dr-chen", "陈静, 内分泌科 (Endocrinology), 市中心医院: Li Mei's diabetes"),
    "dr.zhang": ("dr-zhang", "张伟, 皮肤科 (Dermatology), 市第一人民医院: slots from a template"),
}


def _add_accounts(connection: Connection, people: dict[str, str]) -> dict[str, str]:
    """Accounts for the people who have none; returns their new passwords."""
    passwords = {}
    for username, fhir_user in people.items():
        if accounts.find_account(connection, username) is not None:
            continue
        passwords[username] = secrets.token_urlsafe(12)
        accounts.add_account(
            connection,
            clock.now(),
            role="patient" if fhir_user.startswith("Patient/") else "practitioner",
            username=username,
            password=passwords[username],
            fhir_user=fhir_user,
        )
    return passwords


def _add_clients(connection: Connection, organization: str) -> dict[str, Any]:
    now = clock.now()
    app = clients.add_app(
        connection, now, name="medsvc demo app", redirect_uris=[REDIRECT_URI], scope=APP_SCOPE
    )
    key = ECKey.generate_key("P-384", private=True, auto_kid=True)
    public = {"keys": [{**key.as_dict(private=False), "kid": key.kid}]}
    system = clients.add_system(
        connection,
        now,
        name="City First People's Hospital integration engine",
        organization=organization,
        jwks=public,
    )
    return {
        "app": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "passwords": {},
        "system": system.client_id,
        "system_key": {**key.as_dict(private=True), "kid": key.kid},
    }


def ensure(
    connection: Connection, people: dict[str, str], organization: str, directory: Path = DEMO_DIR
) -> dict[str, Any]:
    """The demo's accounts and clients, made on the first load and reused after it; a person
    added to the demo since gets an account on the next load.

    people maps a username to the Patient/… or Practitioner/… it signs in as.
    """
    saved = load_state(directory)
    fresh = saved is None or clients.find_client(connection, saved["app"]) is None
    state = _add_clients(connection, organization) if fresh or saved is None else saved
    added = _add_accounts(connection, people)
    if fresh or added:
        state["passwords"] = {**state["passwords"], **added}
        _save(directory, STATE, state)
    return state


def _origin(settings: Settings) -> str:
    return AuthUrls(settings.base_url).issuer.removesuffix("/auth")


def system_token(settings: Settings, state: dict[str, Any]) -> dict[str, Any]:
    """What the hospital's engine does: sign an assertion, trade it for a token."""
    urls = AuthUrls(settings.base_url)
    key = ECKey.import_key(state["system_key"])
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES384", "kid": state["system_key"]["kid"], "typ": "JWT"},
        {
            "iss": state["system"],
            "sub": state["system"],
            "aud": urls.token,
            "exp": now + 240,
            "jti": str(uuid.uuid4()),
        },
        key,
        algorithms=["ES384"],
    )
    form = {
        "grant_type": "client_credentials",
        "scope": "system/*.cruds",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    response = httpx.post(urls.token, data=form, timeout=30)
    response.raise_for_status()
    return dict(response.json())


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def _sign_in(
    authorize: str, request: dict[str, str], username: str, password: str
) -> httpx.Response:
    """As a browser: the page first (its cookie and form token), then the filled-in form."""
    with httpx.Client(timeout=30) as browser:
        page = browser.get(authorize, params=request)
        found = CSRF_FIELD.search(page.text)
        if page.status_code != 200 or found is None:
            raise RuntimeError(f"the sign-in page was refused (HTTP {page.status_code})")
        form = {**request, "username": username, "password": password, "csrf_token": found[1]}
        return browser.post(authorize, data=form, headers={"Origin": _origin_of(authorize)})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def person_token(
    settings: Settings, state: dict[str, Any], username: str, password: str
) -> dict[str, Any]:
    """What a phone app does, with the sign-in page's form filled in by the command."""
    urls = AuthUrls(settings.base_url)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    request = {
        "response_type": "code",
        "client_id": state["app"],
        "scope": APP_SCOPE,
        "redirect_uri": state["redirect_uri"],
        "state": secrets.token_urlsafe(8),
        "aud": settings.base_url,
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    signed_in = _sign_in(urls.authorize, request, username, password)
    if signed_in.status_code != 302:
        raise RuntimeError("the sign-in was refused: check the username and password")
    code = parse_qs(urlsplit(signed_in.headers["location"]).query)["code"][0]
    response = httpx.post(
        urls.token,
        timeout=30,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": state["app"],
            "redirect_uri": state["redirect_uri"],
            "code_verifier": verifier,
        },
    )
    response.raise_for_status()
    return dict(response.json())


def how_to(settings: Settings, state: dict[str, Any]) -> str:
    """What `make run` prints for someone trying the service."""
    origin = _origin(settings)
    width = max(map(len, state["passwords"]), default=0)
    lines = [
        f"medsvc demo: the app for citizens and doctors, on a phone or here: {origin}/app/",
        f"  sign in as (username, password: kept in {DEMO_DIR / STATE}):",
    ]
    for username, password in state["passwords"].items():
        who = PEOPLE[username][1] if username in PEOPLE else ""
        lines.append(f"    {username:<{width}}  {password}  {who}".rstrip())
    lines += [
        f"  times are the city's, in {settings.timezone} (MEDSVC_TIMEZONE)",
        f"  the FHIR API: {settings.base_url}",
        "  sign in as a person and get tokens:  .venv/bin/medsvc demo token --username mei",
        "  get the hospital system's token:      .venv/bin/medsvc demo token --system",
        '  then: curl -H "Authorization: Bearer $TOKEN" '
        f"'{settings.base_url}/Slot?status=free&_count=5'",
    ]
    return "\n".join(lines)
