"""The HTTP/1.1 connection `medsvc serve` runs: uvicorn's httptools protocol with limits on a
request head's size, its header count, the time to send it and the pauses within a body, and
on concurrent connections, so that no one connection can hold the server's memory or slots."""

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from medsvc.config import Settings, get_settings
from medsvc.errors import MedsvcError, Unavailable


class HeaderFieldsTooLarge(MedsvcError):
    status, code = 431, "too-costly"  # RFC 6585 section 5


class RequestTimeout(MedsvcError):
    status, code = 408, "timeout"  # RFC 9110 section 15.5.9


class _TooManyHeaders(Exception):
    """Stops the parser mid-head; the refusal is already sent."""


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The server's limits as uvicorn takes them; the rest are enforced by LimitedProtocol."""
    return {
        "http": LimitedProtocol,
        # uvicorn answers 503 once connections or running requests reach this number; the
        # connection asking counts itself, hence one more than the connections allowed.
        "limit_concurrency": settings.http_max_connections + 1,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
    }


def refusal(error: MedsvcError) -> bytes:
    """A whole response, as an OperationOutcome, after which the connection is closed."""
    body = orjson.dumps(error.outcome())
    head = (
        b"content-type: application/fhir+json\r\n"
        b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
    )
    return STATUS_LINE[error.status] + head + body


class LimitedProtocol(HttpToolsProtocol):
    """httptools keeps a header line in memory however long it grows, and uvicorn waits for a
    request head or a body's next bytes for ever: these limits bound both."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.max_head_bytes = settings.http_max_header_bytes
        self.max_headers = settings.http_max_headers
        self.head_seconds = settings.http_header_timeout_seconds
        self.body_seconds = settings.http_body_timeout_seconds
        self.reading_head = True  # the next bytes belong to a request line or its headers
        self.head_bytes = 0
        self.heads_read = 0
        self.header_count = 0
        self.deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.limit_concurrency is not None and len(self.connections) >= self.limit_concurrency:
            self.refuse(Unavailable("The server has as many connections as it accepts"))
            return
        self.arm(self.head_seconds, "The request head was not received in time")

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        room = self.max_head_bytes - self.head_bytes
        if not self.reading_head or len(data) <= room:
            self.head_bytes += len(data) if self.reading_head else 0
            super().data_received(data)
            return
        heads_read = self.heads_read
        super().data_received(data[:room])  # the parser never holds more head than allowed
        if self.transport.is_closing():
            return
        if self.heads_read == heads_read:
            limit = self.max_head_bytes
            self.refuse(HeaderFieldsTooLarge(f"The request head is larger than {limit} bytes"))
            return
        super().data_received(data[room:])

    def send_400_response(self, msg: str) -> None:
        if not self.transport.is_closing():  # a limit has already answered and closed
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_count = 0
        if self.deadline is None:  # a fresh connection's deadline runs from its opening
            self.arm(self.head_seconds, "The request head was not received in time")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.max_headers:
            self.refuse(
                HeaderFieldsTooLarge(f"The request has more than {self.max_headers} headers")
            )
            raise _TooManyHeaders
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.heads_read += 1
        self.arm(self.body_seconds, "The request body stopped arriving")
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self.arm(self.body_seconds, "The request body stopped arriving")
        super().on_body(body)

    def on_message_complete(self) -> None:
        self.disarm()
        self.reading_head, self.head_bytes = True, 0
        super().on_message_complete()

    def arm(self, seconds: float, diagnostics: str) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(seconds, self.expire, seconds, diagnostics)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def expire(self, seconds: float, diagnostics: str) -> None:
        self.deadline = None
        cycle: RequestResponseCycle | None = self.cycle
        if self.server_is_behind(cycle):
            self.arm(seconds, diagnostics)
        elif cycle is not None and cycle.response_started and not self.reading_head:
            self.transport.close()  # too late for a 408: the response has begun
        else:
            self.refuse(RequestTimeout(diagnostics))

    def server_is_behind(self, cycle: RequestResponseCycle | None) -> bool:
        """Whether the wait is the server's: reading paused on a full buffer, the client
        waiting for 100 Continue, or the previous response of a pipelined request unsent."""
        if self.flow.read_paused:
            return True
        if cycle is None:
            return False
        return cycle.waiting_for_100_continue or (self.reading_head and not cycle.response_complete)

    def refuse(self, error: MedsvcError) -> None:
        self.disarm()
        if not self.transport.is_closing():
            self.transport.write(refusal(error))
            self.transport.close()
