"""What proves a sign-in POST came from our own form in the same browser: a secret in an
HttpOnly cookie, a form token keyed by it and bound to the authorization request, and the
request's Origin (or Referer) naming this server (OWASP CSRF cheat sheet; RFC 6454)."""

import base64
import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from medsvc.security.signin_page import REQUEST_FIELDS

COOKIE = "medsvc_signin"
FIELD = "csrf_token"
SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what secrets.token_urlsafe(32) makes


def browser_secret(request: Request) -> str:
    """The secret this browser already holds, or a new one for set_secret."""
    held = request.cookies.get(COOKIE, "")
    return held if SECRET.match(held) else secrets.token_urlsafe(32)


def set_secret(response: Response, secret: str, base_url: str) -> None:
    # Lax: sent when the app sends the person here, never with another site's POST.
    response.set_cookie(
        COOKIE,
        secret,
        path="/auth",
        httponly=True,
        samesite="lax",
        secure=base_url.startswith("https://"),
    )


def form_token(secret: str, params: dict[str, str]) -> str:
    """The token the form carries: an HMAC of the authorization request under the secret, so
    it serves only this browser and only this app's request."""
    request = "\n".join(f"{name}={params.get(name, '')}" for name in REQUEST_FIELDS)
    mac = hmac.new(secret.encode(), request.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_ok(request: Request, form: dict[str, str]) -> bool:
    secret = request.cookies.get(COOKIE, "")
    if not SECRET.match(secret):
        return False
    return hmac.compare_digest(form_token(secret, form), form.get(FIELD, ""))


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str:
    """scheme://host[:port] as a browser serialises it (RFC 6454 section 6.2)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "null"
    scheme = parts.scheme.lower()
    shown = f":{port}" if port is not None and port != DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{(parts.hostname or '').lower()}{shown}"


def same_origin(request: Request, base_url: str) -> bool:
    """False when the POST names another origin, or an opaque one ("null"). A request with
    neither header is not from a browser's form (browsers send Origin with every POST): the
    form token alone decides."""
    origin = request.headers.get("origin")
    if origin is None:
        referer = request.headers.get("referer")
        if referer is None:
            return True
        origin = _origin(referer)
    return _origin(origin) == _origin(base_url)
