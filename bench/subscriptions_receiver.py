"""A hospital's notification endpoint for the subscriptions benchmark: an HTTP server on
127.0.0.1, in a process of its own so that the runner's booking clients never hold it up,
that answers every notification 200 at once and keeps, for each, when it arrived, the path
it was sent to (one per subscription), its type and its events.

Arrival times are time.monotonic(), the clock the runner times its bookings on: on Linux it
reads CLOCK_MONOTONIC, one clock for every process of the machine. The wall clock is kept
too, to set beside the events' own timestamps.

`GET /count?path=P` answers how many notifications and events arrived at P so far, and
`GET /received?path=P` every notification kept for it, in arrival order.

Run as `python bench/subscriptions_receiver.py PORT`; ReceiverProcess does that for a run.
"""

import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


def notification_record(path: str, body: bytes, signed: bool) -> dict[str, Any]:
    """What the benchmark needs of one notification: its SubscriptionStatus, read down to
    the event numbers, their foci and their timestamps."""
    arrived, wall = time.monotonic(), time.time()
    status = json.loads(body)["entry"][0]["resource"]
    events = status.get("notificationEvent") or []
    return {
        "path": path,
        "at": arrived,
        "wall": wall,
        "kind": status.get("type"),
        "numbers": [int(e["eventNumber"]) for e in events],
        "foci": [(e.get("focus") or {}).get("reference") for e in events],
        "event_times": [e.get("timestamp") for e in events],
        "since_start": int(status.get("eventsSinceSubscriptionStart") or 0),
        "signed": signed,
        "bytes": len(body),
    }


class Kept:
    """The notifications received, by path, shared by the handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_path: dict[str, list[dict[str, Any]]] = {}

    def add(self, record: dict[str, Any]) -> None:
        with self.lock:
            self.by_path.setdefault(record["path"], []).append(record)

    def of(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.by_path.get(path, []))

    def paths(self) -> list[str]:
        with self.lock:
            return list(self.by_path)


def handler_for(kept: Kept) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # the delivery job's client keeps its connection

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            signed = bool(self.headers.get("X-Medsvc-Signature"))
            kept.add(notification_record(urlsplit(self.path).path, body, signed))
            self._answer(200, b"")

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = parse_qs(url.query).get("path", [""])[0]
            records = kept.of(path)
            if url.path == "/count":
                found = {"posts": len(records), "events": sum(len(r["numbers"]) for r in records)}
            elif url.path == "/received":
                found = {"records": records}
            elif url.path == "/paths":
                found = {"paths": kept.paths()}
            else:
                self._answer(404, b"")
                return
            self._answer(200, json.dumps(found).encode())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


def serve(port: int) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler_for(Kept()))
    server.daemon_threads = True
    server.serve_forever()


class ReceiverProcess:
    """The receiver in a process of its own on a given port, for the length of a block."""

    def __init__(self, port: int, log: Path):
        self.port, self.log = port, log
        self.process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, path: str) -> str:
        return self.url + path

    def __enter__(self) -> "ReceiverProcess":
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, __file__, str(self.port)], stdout=out, stderr=out
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the receiver exited: {self.log.read_text()[-2000:]}")
            try:
                self.http.get("/paths")
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"the receiver did not start on port {self.port}")

    def __exit__(self, *_exc: object) -> None:
        self.http.close()
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def count(self, path: str) -> dict[str, int]:
        return dict(self.http.get("/count", params={"path": path}).json())

    def received(self, path: str) -> list[dict[str, Any]]:
        return list(self.http.get("/received", params={"path": path}).json()["records"])

    def paths(self) -> list[str]:
        return list(self.http.get("/paths").json()["paths"])


if __name__ == "__main__":
    serve(int(sys.argv[1]))
