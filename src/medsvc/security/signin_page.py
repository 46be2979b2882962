"""The HTML sign-in page of the authorization endpoint, sized for a phone, its headers, and
the pages that refuse a sign-in."""

from datetime import datetime, timedelta
from html import escape

from starlette.responses import HTMLResponse

# Carried from the app's request through the form, so the POST is checked like the GET.
REQUEST_FIELDS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
    "nonce",
)
# The page must not be framed (clickjacking), cached, or leak its URL to other sites. Not
# "no-referrer": with it, browsers send "Origin: null" with the form's POST (Fetch standard,
# "append a request Origin header"), and the Origin check could not tell our form from another.
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - medsvc</title>
<style>body{{font-family:sans-serif;max-width:24rem;margin:2rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;box-sizing:border-box;font-size:1.1rem}}
input{{margin:.25rem 0 1rem;padding:.6rem}}button{{padding:.8rem}}
.error{{color:#a00}}</style></head>
<body><h1>Sign in</h1>
<p>{app} asks to use your health records.</p>
{message}
<form method="post" action="{action}">
{hidden}
<input type="hidden" name="csrf_token" value="{csrf_token}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="otp">One-time code (if you set one up)</label>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code" maxlength="6">
<button type="submit">Sign in</button>
</form></body></html>"""


def sign_in_page(
    action: str, app_name: str, params: dict[str, str], csrf_token: str, error: str | None = None
) -> HTMLResponse:
    hidden = "\n".join(
        f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
        for name in REQUEST_FIELDS
        if name in params
    )
    message = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    body = PAGE.format(
        app=escape(app_name),
        message=message,
        action=escape(action),
        hidden=hidden,
        csrf_token=escape(csrf_token),
    )
    return HTMLResponse(body, headers=HEADERS)


def error_page(message: str, status: int = 400, retry_after: int | None = None) -> HTMLResponse:
    body = f"<!doctype html><title>Sign-in error</title><p>{escape(message)}</p>"
    wait = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return HTMLResponse(body, status_code=status, headers={**HEADERS, **wait})


def _in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def throttled_page(seconds: int, now: datetime) -> HTMLResponse:
    """429 with Retry-After (RFC 6585 section 4), and the same in words for the person."""
    at = (now + timedelta(seconds=seconds)).strftime("%H:%M UTC")
    message = (
        "There have been too many failed sign-ins from your network. "
        f"Please try again in {_in_words(seconds)} (at {at})."
    )
    return error_page(message, 429, seconds)


def forged_page() -> HTMLResponse:
    """403 for a POST that did not come from this server's form in this browser."""
    return error_page(
        "This sign-in form has expired or was not sent from this site. "
        "Please reload the page and sign in again.",
        403,
    )
