"""OAuth 2.0 errors (RFC 6749 section 5.2), answered as JSON rather than OperationOutcome."""

from typing import Any

# RFC 6749 section 5.1: token responses, errors included, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error of the authorization server's endpoints, by its RFC 6749 code."""

    def __init__(self, error: str, description: str, status: int = 400, commit: bool = False):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.commit = commit  # what the request wrote before failing must stay (a revocation)
        self.retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}

    @property
    def headers(self) -> dict[str, str]:
        headers = dict(NO_STORE)
        if self.status == 401:  # a client that tried HTTP Basic gets its challenge (5.2)
            headers["WWW-Authenticate"] = 'Basic realm="medsvc"'
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers
