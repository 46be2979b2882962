"""The processes and databases a benchmark run needs: uvicorn servers and a scratch PostgreSQL."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

BENCH_DIR = Path(__file__).resolve().parent
POSTGRES_ADMIN_URL = os.environ.get(
    "MEDSVC_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_tree(pid: int) -> list[int]:
    """The pid and its descendants (uvicorn's worker processes when --workers > 1)."""
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            pids += _process_tree(int(child))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process tree has used so far."""
    ticks = 0
    for p in _process_tree(pid):
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime and stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def _database_processes(names: tuple[str, ...]) -> list[tuple[int, str]]:
    """The PostgreSQL processes serving these databases, with their titles (which name them)."""
    if not names:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
            if title.startswith("postgres") and any(name in title for name in names):
                found.append((int(entry.name), title))
    return found


def database_pids(names: tuple[str, ...]) -> list[int]:
    """The PostgreSQL processes serving the benchmark's databases."""
    return [pid for pid, _title in _database_processes(names)]


def pin_database_backends(names: tuple[str, ...], cpus: set[int]) -> int:
    """Puts the backends serving these databases' clients on these CPUs (those of the medsvc
    processes they serve): a query then runs where its caller waits for it, not on whichever
    CPU the scheduler picks, which on a small VM moves one client's latency by tenths of a
    millisecond from one sample to the next. Autovacuum stays where it is. Returns how many
    were pinned; none where this user may not move them."""
    pinned = 0
    for pid, title in _database_processes(names):
        if "autovacuum" in title:
            continue
        try:
            os.sched_setaffinity(pid, cpus)
        except (PermissionError, ProcessLookupError):
            continue
        pinned += 1
    return pinned


class Server:
    """One uvicorn process serving an app factory from bench/ on a free loopback port."""

    def __init__(
        self,
        name: str,
        factory: str,
        env: dict[str, str],
        workers: int,
        log_dir: Path,
        port: int | None = None,
        cpus: set[int] | None = None,
    ):
        self.name, self.factory, self.workers = name, factory, workers
        self.cpus = cpus  # the CPUs the process (and every thread it starts) may run on
        self.port = port or free_port()
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            self.factory,
            "--app-dir",
            str(BENCH_DIR),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with self.log_path.open("wb") as log:  # the service's request log goes here
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=log,
                stderr=log,
                preexec_fn=self._pin if self.cpus else None,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start on port {self.port}")
            time.sleep(0.1)

    def _pin(self) -> None:
        os.sched_setaffinity(0, self.cpus or set())

    def __exit__(self, *_exc: object) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cpu_seconds(self) -> float:
        assert self.process is not None
        return cpu_seconds(self.process.pid)


def wait_until_idle(
    servers: list["Server"], below: float = 0.05, window: float = 0.5, most: float = 30.0
) -> float:
    """Waits until these processes together use less than `below` of a core over a window, or
    `most` seconds have passed; returns the seconds waited. A signed-in process stores the
    audit records of the reads it has answered in the background: those of one sample would
    otherwise be written during the next, on the same CPU."""
    began = time.monotonic()
    while time.monotonic() - began < most:
        before = sum(server.cpu_seconds() for server in servers)
        time.sleep(window)
        if (sum(server.cpu_seconds() for server in servers) - before) / window < below:
            break
    return time.monotonic() - began


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of its own on the local PostgreSQL, dropped when the block ends."""
    name = f"medsvc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def vacuum_analyze(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def postgres_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()
