"""Measuring only while the machine is otherwise quiet: the CPU that processes outside the
benchmark use during a sample, and a gate that measures a pair of samples again when they
used too much of it."""

import os
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from servers import database_pids

QUIET_CORES = 0.3  # CPU that processes outside the benchmark may use, in cores
PROBE_SECONDS = 1.0
TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds the machine has been busy so far, all cores (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / TICK


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def _tree(pid: int) -> list[int]:
    """The pid and its descendants that still run (one that ends meanwhile is left out)."""
    pids = [pid]
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return pids
    for task in tasks:
        try:
            children = (task / "children").read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in children:
            pids += _tree(int(child))
    return pids


class Snapshot:
    """The machine's CPU and the benchmark's own at one moment: this process and its
    children (the servers, wrk), wrk runs already reaped, and the database's processes."""

    def __init__(self, databases: tuple[str, ...]):
        self.at = time.monotonic()
        self.busy = _machine_busy()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.reaped = children.ru_utime + children.ru_stime
        pids = {*_tree(os.getpid()), *database_pids(databases)}
        self.own = {pid: cpu for pid in pids if (cpu := _cpu(pid)) is not None}

    def foreign_since(self, before: "Snapshot") -> float:
        """Cores that processes outside the benchmark used between the two snapshots."""
        own = self.reaped - before.reaped
        own += sum(cpu - before.own.get(pid, 0.0) for pid, cpu in self.own.items())
        # A process of ours that ended between them (and is not reaped by us) is missed:
        # its CPU counts as foreign, which errs on the side of measuring again.
        return max(0.0, (self.busy - before.busy - own) / (self.at - before.at))


class Quiet:
    """Before a pair of samples (sealed and unsealed), waits until processes outside the
    benchmark use less than QUIET_CORES; a pair during which they used more is measured
    again. Gives up waiting after max_wait seconds in all, then measures anyway and says so."""

    def __init__(self, max_wait: float, databases: tuple[str, ...] = ()):
        self.max_wait, self.databases = max_wait, databases
        self.waited, self.redone, self.gave_up = 0.0, 0, False

    def snapshot(self) -> Snapshot:
        return Snapshot(self.databases)

    def probe(self) -> float:
        before = self.snapshot()
        time.sleep(PROBE_SECONDS)
        return self.snapshot().foreign_since(before)

    def wait(self) -> None:
        if self.gave_up:
            return
        began, said = time.monotonic(), False
        while (load := self.probe()) > QUIET_CORES:
            if self.waited + time.monotonic() - began > self.max_wait:
                self.gave_up = True
                print(
                    f"  still busy ({load:.2f} cores) after waiting {self.max_wait:.0f} s "
                    "in all: measuring anyway",
                    flush=True,
                )
                break
            if not said:
                print(f"  the machine is busy ({load:.2f} cores): waiting", flush=True)
                said = True
            time.sleep(5)
        self.waited += time.monotonic() - began

    def measure(self, sample: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        """One sample, with foreign_cpu: the cores processes outside the benchmark used."""
        before = self.snapshot()
        found = sample(*args)
        found["foreign_cpu"] = self.snapshot().foreign_since(before)
        return found

    def pair(self, measure: Callable[[], dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
        """measure() (samples by process, each taken with self.measure) when quiet, again
        until none of its samples saw more than QUIET_CORES of foreign load."""
        while True:
            self.wait()
            measured = measure()
            worst = max(s["foreign_cpu"] for s in measured.values())
            if self.gave_up or worst <= QUIET_CORES:
                return measured
            self.redone += 1
            print(
                f"  {worst:.2f} cores of other load during the pair: measuring it again", flush=True
            )

    def facts(self) -> dict[str, Any]:
        return {
            "waited_s": self.waited,
            "redone": self.redone,
            "gave_up": self.gave_up,
            "threshold": QUIET_CORES,
        }
