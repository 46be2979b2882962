"""One structured log line per request, a request id on every response, and safe defaults.

Lines carry method, route path, status and duration; never query strings or bodies, which
may hold identifiers or health data.
"""

import itertools
import logging
import re
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("medsvc.request")
# A request whose client hung up before it was read (nginx's "client closed request"): nothing
# is answered, and the failure is the client's, not the server's; logged and audited as such.
CLIENT_CLOSED_REQUEST = 499
request_id: ContextVar[str] = ContextVar("request_id", default="-")
SLOW_SECONDS = 1.0
_VALID_ID = re.compile(r"^[A-Za-z0-9\-]{1,64}$")
# Request ids: random per process, then counted; unique without a system call per request.
_PROCESS_ID = uuid.uuid4().hex[:12]
_sequence = itertools.count(1)


class KeyValueFormatter(logging.Formatter):
    """ts=… level=… logger=… request_id=… msg=… and the record's own fields, one line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = (
            f"ts={stamp}.{int(record.msecs):03d}Z level={record.levelname} "
            f"logger={record.name} request_id={request_id.get()} "
            f"msg={_quote(record.getMessage())}"
        )
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={_quote(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _quote(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if " " in text or not text else text


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger("medsvc")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


async def _internal_error(rid: str, send: Send) -> None:
    """A 500 OperationOutcome that names the request id and nothing of the internals."""
    issue = {
        "severity": "fatal",
        "code": "exception",
        "diagnostics": f"Internal error; quote request id {rid}",
    }
    outcome = {"resourceType": "OperationOutcome", "issue": [issue]}
    body = orjson.dumps(outcome)
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/fhir+json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _level(status: int, seconds: float) -> int:
    """Failures and slow requests at INFO and above; the ordinary ones only at DEBUG, since
    a line per request costs more than a read (access logs belong to the proxy in front)."""
    if status >= 500:
        return logging.ERROR
    if status >= 400 or seconds >= SLOW_SECONDS:
        return logging.INFO
    return logging.DEBUG


_SET_HERE = (b"x-request-id", b"x-content-type-options")


def with_safe_defaults(
    headers: Iterable[tuple[bytes, bytes]], rid: str
) -> list[tuple[bytes, bytes]]:
    """A response's headers with the request id and the safe defaults, each exactly once:
    nosniff on every response, and no-store on every response its route did not mark as
    cacheable, since what is not public may hold health data (RFC 9111 section 5.2.2.5)."""
    kept = [(name, value) for name, value in headers if name.lower() not in _SET_HERE]
    if not any(name.lower() == b"cache-control" for name, _ in kept):
        kept.append((b"cache-control", b"no-store"))
    return [*kept, (b"x-request-id", rid.encode()), (b"x-content-type-options", b"nosniff")]


class RequestLogMiddleware:
    """Pure ASGI, so it adds no per-request task or body buffering."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _VALID_ID.match(incoming) else f"{_PROCESS_ID}-{next(_sequence):x}"
        token = request_id.set(rid)
        started = time.perf_counter()
        status, started_response = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = with_safe_defaults(message.get("headers", []), rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = CLIENT_CLOSED_REQUEST
            log.info("client disconnected", extra={"fields": {"path": scope["path"]}})
        except Exception:
            log.exception("unhandled error")
            if started_response:
                raise  # the response had started; the connection is all that can be closed
            await _internal_error(rid, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            level = _level(status, elapsed)
            if log.isEnabledFor(level):
                fields = {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "ms": round(elapsed * 1000, 1),
                }
                log.log(level, "request", extra={"fields": fields})
            request_id.reset(token)
