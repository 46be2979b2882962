"""The app's calls to this server's token and revocation endpoints (RFC 6749 4.1.3 and 6,
RFC 7009), authenticated as the confidential client it is (HTTP Basic)."""

import base64
import time
from typing import Any
from urllib.parse import quote_plus

from medsvc.web.api import Api
from medsvc.web.client import AppClient

EARLY = 30  # seconds before its expiry at which an access token is refreshed


def acting_for_another(body: dict[str, Any]) -> bool:
    """The token acts for a patient who is not the signed-in person (their proxy's choice
    in the patient picker): its patient is not the one its fhirUser names."""
    user, patient = body.get("fhirUser"), body.get("patient")
    if not isinstance(user, str) or not isinstance(patient, str) or "/Patient/" not in user:
        return False
    return not user.endswith(f"/Patient/{patient}")


def _kept(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "access_token": body["access_token"],
        "refresh_token": body.get("refresh_token"),
        "access_expires": time.time() + int(body.get("expires_in", 0)),
        "acting_for_another": acting_for_another(body),
    }


def _basic(client: AppClient) -> dict[str, str]:
    """HTTP Basic with the client's id and secret, each form-encoded (RFC 6749 2.3.1)."""
    pair = f"{quote_plus(client.client_id)}:{quote_plus(client.secret)}"
    return {"Authorization": f"Basic {base64.b64encode(pair.encode()).decode()}"}


def fresh(tokens: dict[str, Any]) -> bool:
    return float(tokens.get("access_expires", 0)) - EARLY > time.time()


async def _token_call(api: Api, client: AppClient, form: dict[str, str]) -> dict[str, Any] | None:
    response = await api.call("POST", "/auth/token", data=form, headers=_basic(client))
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body if isinstance(body.get("access_token"), str) else None


async def exchange(
    api: Api, client: AppClient, code: str, verifier: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The tokens to keep, and the response's context (fhirUser, patient), for a code."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "code_verifier": verifier,
    }
    body = await _token_call(api, client, form)
    return (_kept(body), body) if body is not None else None


async def refresh(api: Api, client: AppClient, refresh_token: str) -> dict[str, Any] | None:
    body = await _token_call(
        api, client, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )
    return _kept(body) if body is not None else None


async def revoke(api: Api, client: AppClient, token: str) -> None:
    """Revoking the refresh token revokes the whole grant, its access tokens included."""
    await api.call("POST", "/auth/revoke", data={"token": token}, headers=_basic(client))
