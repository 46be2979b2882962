"""OAuth 2.0 errors (RFC 6749 section 5.2), answered as JSON rather than OperationOutcome."""

from typing import Any

# RFC 6749 section 5.1: token responses, errors included, must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An error of the authorization server's endpoints, by its RFC 6749 code."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}

    @property
    def headers(self) -> dict[str, str]:
        if self.status == 401:  # a client that tried HTTP Basic gets its challenge (5.2)
            return {**NO_STORE, "WWW-Authenticate": 'Basic realm="medsvc"'}
        return dict(NO_STORE)
