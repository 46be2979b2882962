"""Binary content in its own media type (binary.html): uploads and native reads."""

import base64
from typing import Any

from fastapi import Response

from medsvc.errors import Invalid
from medsvc.fhir import jsonio
from medsvc.fhir.store import Stored


def from_upload(content_type: str, data: bytes, security_context: str | None) -> dict[str, Any]:
    """A Binary resource for a body posted in its own media type (e.g. application/pdf), with
    the security context its X-Security-Context header names (binary.html)."""
    resource: dict[str, Any] = {"resourceType": "Binary", "contentType": content_type}
    if security_context:
        resource["securityContext"] = {"reference": security_context.strip()}
    resource["data"] = base64.b64encode(data).decode("ascii")
    return resource


def native_response(stored: Stored) -> Response:
    """The content itself, served so a browser never renders it in the service's origin."""
    assert stored.content is not None
    resource = jsonio.loads_stored(stored.content)
    try:
        data = base64.b64decode(resource.get("data", ""), validate=True)
    except ValueError as error:
        raise Invalid("The stored Binary holds no valid base64 data") from error
    return Response(
        data,
        media_type=resource.get("contentType", "application/octet-stream"),
        headers={
            "ETag": stored.etag,
            "Content-Disposition": "attachment",
            "Content-Security-Policy": "sandbox",
            "Cache-Control": "no-store",  # a report's PDF is health data like its JSON
        },
    )
