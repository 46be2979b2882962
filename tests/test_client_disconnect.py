"""A client that hangs up in the middle of its upload: the request log and the audit trail
record a client-side outcome (499, "client disconnected"), never a server error."""

import json
import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from medsvc.audit import trail as audit_trail
from tests.conftest import Backend, LiveServer
from tests.kit.test_requestlog import Collect

DECLARED = 1_000_000
FORM = "application/x-www-form-urlencoded"
SENT = (b'{"resourceType": "Patient", "name": [{"family": "' + b"x" * 100)[:100]


@pytest.fixture
def logged() -> Iterator[Collect]:
    """Every record of the service's loggers and of the HTTP server, from INFO up."""
    handler = Collect()
    loggers = [logging.getLogger(n) for n in ("medsvc", "medsvc.request", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def hang_up_mid_upload(server: LiveServer, path: str, media: str, request_id: str) -> None:
    """Declares a body of a megabyte, sends 100 bytes of it and closes the connection."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {media}\r\nContent-Length: {DECLARED}\r\n"
        f"X-Request-Id: {request_id}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head.encode() + SENT)


def request_line(logged: Collect, request_id: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [line for _, line in logged.lines if f"request_id={request_id} msg=request" in line]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no request line for {request_id}: {logged.lines}")


def audit_record(backend: Backend, request_id: str) -> dict:
    audit_trail.flush_all()
    with backend.database.session(write=False) as session:
        events = [json.loads(link.content or b"{}") for link in audit_trail.chain_links(session)]
    return next(e for e in events if request_id in requests_of(e))


def requests_of(event: dict) -> list[str]:
    """The request ids an AuditEvent names (its entity identifying the request)."""
    whats = [entity.get("what", {}) for entity in event.get("entity", [])]
    return [what["identifier"]["value"] for what in whats if "identifier" in what]


@pytest.mark.parametrize(
    ("path", "media"),
    [
        ("/fhir/Patient", "application/fhir+json"),
        ("/fhir", "application/fhir+json"),
        ("/auth/token", FORM),
        ("/auth/authorize", FORM),
    ],
)
def test_a_client_hanging_up_mid_upload_is_its_own_failure(
    path: str,
    media: str,
    client: httpx.Client,
    live_server: LiveServer,
    clean: Backend,
    logged: Collect,
) -> None:
    request_id = "hung-up-" + path.replace("/", "-")
    hang_up_mid_upload(live_server, path, media, request_id)

    line = request_line(logged, request_id)
    assert "status=499" in line
    assert any("client disconnected" in text for _, text in logged.lines)
    assert all(level < logging.ERROR for level, _ in logged.lines), logged.lines
    assert not any("unhandled error" in text for _, text in logged.lines)
    if path.startswith("/fhir"):  # FHIR requests are audited, allowed or not
        event = audit_record(clean, request_id)
        assert event["outcome"] == "4"
        assert event["outcomeDesc"] == (
            "The client closed the connection before its request was read"
        )
    assert client.get("/Patient").json()["total"] == 0  # nothing of the upload was stored
