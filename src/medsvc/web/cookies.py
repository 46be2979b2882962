"""The session cookie: opaque, HttpOnly, SameSite=Lax, and over https Secure with the
__Host- prefix (RFC 6265bis 4.1.3.2: no Domain, Path=/, set only over a secure channel)."""

from starlette.requests import Request
from starlette.responses import Response


def _secure(request: Request) -> bool:
    return bool(request.app.state.web.origin.startswith("https://"))


def name(request: Request) -> str:
    return "__Host-medsvc_session" if _secure(request) else "medsvc_session"


def read(request: Request) -> str:
    return request.cookies.get(name(request), "")


def give(request: Request, response: Response, value: str, max_age: int) -> None:
    response.set_cookie(
        name(request),
        value,
        max_age=max_age,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="lax",
    )


def take_back(request: Request, response: Response) -> None:
    response.delete_cookie(
        name(request), path="/", secure=_secure(request), httponly=True, samesite="lax"
    )
