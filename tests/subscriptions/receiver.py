"""A hospital's notification endpoint on 127.0.0.1: a real HTTP server that keeps what it was
sent, and can be taken down (nothing listening) and brought up again on its port."""

import http.server
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from tests.conftest import free_port


@dataclass(frozen=True)
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def bundle(self) -> dict[str, Any]:
        return dict(json.loads(self.body))

    @property
    def status(self) -> dict[str, Any]:
        return dict(self.bundle["entry"][0]["resource"])

    @property
    def kind(self) -> str:
        return str(self.status["type"])

    @property
    def event_numbers(self) -> list[int]:
        return [int(e["eventNumber"]) for e in self.status.get("notificationEvent", [])]


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.arrived: list[Received] = []  # every request, answered or not
        self.answer = 200
        self.delay = 0.0  # seconds before answering
        self._lock = threading.Lock()
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def up(self) -> "Receiver":
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received = Received(body, dict(self.headers.items()))
                with receiver._lock:
                    receiver.arrived.append(received)
                    status, delay = receiver.answer, receiver.delay
                time.sleep(delay)
                if 200 <= status < 300:
                    with receiver._lock:
                        receiver.received.append(received)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up waiting, or was killed

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def of_kind(self, kind: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.kind == kind]

    def event_numbers(self) -> list[int]:
        return [n for r in self.of_kind("event-notification") for n in r.event_numbers]

    def foci(self) -> list[str]:
        found = []
        for r in self.of_kind("event-notification"):
            found += [e["focus"]["reference"] for e in r.status["notificationEvent"]]
        return found
