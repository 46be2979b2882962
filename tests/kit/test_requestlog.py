"""The request log: failures and slow requests are logged, ordinary ones only at DEBUG."""

import asyncio
import logging

import pytest

from medsvc.kit import requestlog
from medsvc.kit.requestlog import KeyValueFormatter, RequestLogMiddleware


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, KeyValueFormatter().format(record)))


def answer(status: int):
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def call(app, headers: list[tuple[bytes, bytes]] | None = None) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/fhir/Patient/1", "headers": headers or []}
    asyncio.run(RequestLogMiddleware(app)(scope, receive, send))
    return sent


@pytest.fixture
def collected() -> Collect:
    handler = Collect()
    logger = logging.getLogger("medsvc.request")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


def test_levels_by_outcome(collected: Collect) -> None:
    call(answer(200))
    call(answer(404))
    call(answer(503))
    levels = [level for level, _ in collected.lines]
    assert levels == [logging.DEBUG, logging.INFO, logging.ERROR]
    assert "path=/fhir/Patient/1 status=404" in collected.lines[1][1]


def test_slow_requests_are_info(collected: Collect, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requestlog, "SLOW_SECONDS", 0.0)
    call(answer(200))
    assert collected.lines[0][0] == logging.INFO


def test_request_id_in_line_and_header(collected: Collect) -> None:
    sent = call(answer(404), [(b"x-request-id", b"trace-7")])
    assert (b"x-request-id", b"trace-7") in sent[0]["headers"]
    assert "request_id=trace-7" in collected.lines[0][1]
    assert "?" not in collected.lines[0][1]


def answer_with(headers: list[tuple[bytes, bytes]]):
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    return app


def sent_headers(app, request_headers=None) -> list[tuple[bytes, bytes]]:
    return call(app, request_headers)[0]["headers"]


def named(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


@pytest.mark.parametrize(
    "own",
    [
        [],
        [(b"x-content-type-options", b"nosniff")],
        [(b"X-Content-Type-Options", b"sniff-please")],
        [(b"x-request-id", b"forged"), (b"x-content-type-options", b"nosniff")],
    ],
)
def test_safe_defaults_are_sent_once_whatever_a_route_set(own) -> None:
    headers = sent_headers(answer_with(own), [(b"x-request-id", b"trace-9")])
    assert named(headers, b"x-content-type-options") == [b"nosniff"]
    assert named(headers, b"x-request-id") == [b"trace-9"]


def test_responses_are_not_stored_unless_their_route_says_so() -> None:
    assert named(sent_headers(answer(200)), b"cache-control") == [b"no-store"]
    public = [(b"cache-control", b"public, max-age=300")]
    assert named(sent_headers(answer_with(public)), b"cache-control") == [b"public, max-age=300"]
    shouting = [(b"Cache-Control", b"private")]
    assert named(sent_headers(answer_with(shouting)), b"cache-control") == [b"private"]
