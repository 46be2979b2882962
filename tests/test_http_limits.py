"""The HTTP limits of `medsvc serve`, over raw sockets against the real command: each abusive
connection is refused or closed, and the server still answers others and keeps no garbage."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

MAX_CONNECTIONS = 6
LIMITS = {
    "MEDSVC_HTTP_HEADER_TIMEOUT_SECONDS": "1",
    "MEDSVC_HTTP_BODY_TIMEOUT_SECONDS": "1",
    "MEDSVC_HTTP_KEEP_ALIVE_SECONDS": "1",
    "MEDSVC_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
}
HEAD_LIMIT = 32 * 1024  # the default MEDSVC_HTTP_MAX_HEADER_BYTES
PATIENT = 20.0  # seconds any answer may take on a loaded machine: success, not latency
RSS_GROWTH_ALLOWED = 24 * 1024  # KiB; the defect this guards against kept 0.8 GB


@dataclass
class Server:
    port: int
    pid: int

    def connect(self) -> socket.socket:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=PATIENT)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1])

    def assert_serving(self) -> None:
        """Another client is still served: /fhir/metadata answers 200."""
        answer = httpx.get(f"http://127.0.0.1:{self.port}/fhir/metadata", timeout=PATIENT)
        assert answer.status_code == 200
        assert answer.json()["resourceType"] == "CapabilityStatement"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {
        **os.environ,
        **LIMITS,
        "MEDSVC_DATABASE_URL": "sqlite:///./var/medsvc.db",
        "MEDSVC_BASE_URL": f"http://127.0.0.1:{port}/fhir",
        "MEDSVC_JOBS": "off",
    }
    log = directory / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "medsvc", "serve", "--port", str(port)],
            cwd=directory,
            env=env,
            stdout=output,
            stderr=output,
        )
    try:
        running = Server(port, process.pid)
        _wait_until_serving(running, process, log)
        yield running
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_serving(running: Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            running.assert_serving()
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"medsvc serve did not start: {log.read_text()}")


def answer_of(connection: socket.socket) -> bytes:
    """What the server sent before closing: b"" when it closed (or reset) without a word."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def one_response(connection: socket.socket) -> bytes:
    """Reads one response with a Content-Length; returns it whole."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += _more(connection)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += _more(connection)
    return head + b"\r\n\r\n" + body


def _more(connection: socket.socket) -> bytes:
    received = connection.recv(65536)
    assert received, "the server closed the connection before its response was whole"
    return received


def send_until_refused(connection: socket.socket, head: bytes, chunks: Iterator[bytes]) -> int:
    """Sends the head, then chunks until the server stops reading; returns bytes sent."""
    sent = 0
    try:
        connection.sendall(head)
        for chunk in chunks:
            connection.sendall(chunk)
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    return sent


def status_of(answer: bytes) -> int | None:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None


def request_head(*headers: bytes) -> bytes:
    return b"GET /fhir/metadata HTTP/1.1\r\nHost: medsvc\r\n" + b"".join(headers)


@pytest.mark.parametrize(
    "start",
    [request_head(b"X-Endless: "), b"GET /fhir/metadata?_id=", b"GET /fhir/metadata HTTP/1.1\r\nX"],
    ids=["header value", "request line", "header name"],
)
def test_an_endless_head_is_cut_off_and_its_bytes_let_go(server: Server, start: bytes) -> None:
    server.assert_serving()
    before = server.rss_kib()
    for _ in range(2):
        with server.connect() as connection:
            endless = (b"a" * 65536 for _ in range(1024))  # 64 MiB, never a line end
            sent = send_until_refused(connection, start, endless)
            assert status_of(answer_of(connection)) in (431, None)
        # The server stopped reading at its limit: what it took is what the sockets buffer.
        assert sent < 16 * 1024 * 1024
        server.assert_serving()
    assert server.rss_kib() - before < RSS_GROWTH_ALLOWED


@pytest.mark.parametrize(
    "head",
    [
        request_head(b"X-Fill: " + b"a" * (HEAD_LIMIT + 1024), b"\r\n\r\n"),
        b"GET /fhir/metadata?_id=" + b"a" * (HEAD_LIMIT + 1024) + b" HTTP/1.1\r\n\r\n",
        request_head(*[b"X-Fill-%d: %s\r\n" % (i, b"a" * 4000) for i in range(9)], b"\r\n"),
    ],
    ids=["one header", "request line", "several headers"],
)
def test_a_head_over_the_limit_is_answered_431(server: Server, head: bytes) -> None:
    with server.connect() as connection:
        connection.sendall(head)
        answer = answer_of(connection)
    assert status_of(answer) == 431
    assert b'"code":"too-costly"' in answer
    assert b"connection: close" in answer
    server.assert_serving()


def test_two_megabytes_of_headers_are_refused(server: Server) -> None:
    before = server.rss_kib()
    filler = [b"X-Fill-%d: %s\r\n" % (i, b"a" * 1000) for i in range(2048)]
    with server.connect() as connection:
        send_until_refused(connection, request_head(), iter([*filler, b"\r\n"]))
        assert status_of(answer_of(connection)) in (431, None)
    server.assert_serving()
    assert server.rss_kib() - before < RSS_GROWTH_ALLOWED


def test_twenty_thousand_headers_are_refused(server: Server) -> None:
    before = server.rss_kib()
    many = b"".join(b"X-%d: 1\r\n" % i for i in range(20_000))
    with server.connect() as connection:
        send_until_refused(connection, request_head(), iter([many, b"\r\n"]))
        assert status_of(answer_of(connection)) in (431, None)
    server.assert_serving()
    assert server.rss_kib() - before < RSS_GROWTH_ALLOWED


def test_more_headers_than_allowed_within_the_size_are_answered_431(server: Server) -> None:
    headers = [b"X-%d: 1\r\n" % i for i in range(101)]  # one over the default 100, with Host
    with server.connect() as connection:
        connection.sendall(request_head(*headers, b"\r\n"))
        answer = answer_of(connection)
    assert status_of(answer) == 431
    assert b"more than 100 headers" in answer
    server.assert_serving()


def test_headers_trickled_byte_by_byte_are_answered_408(server: Server) -> None:
    slow = [server.connect() for _ in range(3)]
    answers = dict.fromkeys(slow, b"")
    try:
        for connection in slow:
            connection.sendall(request_head(b"X-Slow: "))
            connection.settimeout(0.1)
        for _ in range(200):  # up to 20 s of one byte per connection each tenth of a second
            for connection in slow:
                answers[connection] = answers[connection] or _trickle(connection)
            if all(answers.values()):
                break
            server.assert_serving()  # served while the slow ones trickle
    finally:
        for connection in slow:
            connection.close()
    assert [status_of(answer) for answer in answers.values()] == [408] * 3
    server.assert_serving()


def _trickle(connection: socket.socket) -> bytes:
    try:
        connection.sendall(b"a")
        return connection.recv(65536)
    except TimeoutError:
        return b""
    except (BrokenPipeError, ConnectionResetError):
        return b"closed"


@pytest.mark.parametrize(
    ("framing", "partial"),
    [
        (b"Content-Length: 100", b"grant_type=client_cre"),
        (b"Transfer-Encoding: chunked", b"64\r\ngrant_type=client_cre"),
    ],
    ids=["content-length", "chunked"],
)
def test_a_body_that_stops_midway_is_answered_408(
    server: Server, framing: bytes, partial: bytes
) -> None:
    with server.connect() as connection:
        connection.sendall(
            b"POST /auth/token HTTP/1.1\r\nHost: medsvc\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n" + framing + b"\r\n\r\n" + partial
        )
        answer = answer_of(connection)
    assert status_of(answer) == 408
    assert b'"code":"timeout"' in answer
    server.assert_serving()


def test_a_body_sent_with_its_head_in_one_write_is_not_taken_for_head(server: Server) -> None:
    # Past the head limit and within the token endpoint's form limit (64 KiB).
    form = b"grant_type=client_credentials&padding=" + b"a" * (HEAD_LIMIT + 8192)
    with server.connect() as connection:
        connection.sendall(
            b"POST /auth/token HTTP/1.1\r\nHost: medsvc\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(form), form)
        )
        answer = one_response(connection)
    # The token endpoint read the whole form: it answers on the client's authentication.
    assert status_of(answer) == 400
    assert b"client_assertion_type must be" in answer


def test_pipelined_requests_are_each_answered(server: Server) -> None:
    with server.connect() as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: medsvc\r\n\r\n" * 3)
        answers = answer_of(connection)  # all three, then closed once idle
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert answers.count(b'{"status":"ok"}') == 3


def test_an_idle_kept_alive_connection_is_closed_after_its_timeout(server: Server) -> None:
    with server.connect() as connection:
        for _ in range(2):  # kept alive between two requests in quick succession
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: medsvc\r\n\r\n")
            head = one_response(connection)
            assert status_of(head) == 200
            assert b"connection: close" not in head
        assert answer_of(connection) == b""  # then closed, unasked, once idle
    server.assert_serving()


def test_connections_beyond_the_limit_are_refused_until_idle_ones_time_out(
    server: Server,
) -> None:
    idle = [server.connect() for _ in range(MAX_CONNECTIONS)]
    try:
        with server.connect() as extra:
            assert status_of(answer_of(extra)) == 503
        answers = [answer_of(connection) for connection in idle]
    finally:
        for connection in idle:
            connection.close()
    assert [status_of(answer) for answer in answers] == [408] * MAX_CONNECTIONS
    server.assert_serving()
