"""The wrk runs: a warm-up per scenario and app, then interleaved runs whose medians are kept."""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servers import BENCH_DIR, Server

LUA = BENCH_DIR / "wrk.lua"
WRK_THREADS = 1  # one event loop drives 16 connections easily and leaves the most CPU to the server
WARMUP_SECONDS, MAX_RUN_SECONDS = 3, 60


@dataclass
class Scenario:
    name: str
    label: str
    method: str
    path: str
    body: Path | None = None
    clients: int = 16
    app: str = "medsvc"  # which medsvc process answers it (its figures go in the medsvc column)
    authorization: str = ""  # the Authorization header of every request, if any


def run_wrk(
    server: Server,
    scenario: Scenario,
    seconds: int,
    *,
    script: Path = LUA,
    threads: int = WRK_THREADS,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One wrk run. Another script may take more of the environment (env) and add figures of
    its own to its summary line ("extra"), which are returned beside the usual ones."""
    env = {
        **os.environ,
        "BENCH_METHOD": scenario.method,
        "BENCH_BODY": str(scenario.body) if scenario.body else "",
        "BENCH_AUTHORIZATION": scenario.authorization,
        **(env or {}),
    }
    command = [
        "wrk",
        f"-t{min(threads, scenario.clients)}",
        f"-c{scenario.clients}",
        f"-d{seconds}s",
        "--timeout",
        "60s",
        "-s",
        str(script),
        server.url + scenario.path,
    ]
    server_cpu = server.cpu_seconds()
    own = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.splitlines() if x.startswith("BENCH "))
    raw = json.loads(line.removeprefix("BENCH "))
    return {
        "seconds": raw["duration_us"] / 1e6,
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "errors": raw["socket_errors"] + raw["http_errors"],
        # CPU share of one core, to see who was saturated on the shared machine.
        "server_cpu": (server.cpu_seconds() - server_cpu) / wall,
        "wrk_cpu": (after.ru_utime + after.ru_stime - own.ru_utime - own.ru_stime) / wall,
        **raw.get("extra", {}),
    }


def median_of(samples: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def run_length(warmup: dict[str, float], args: argparse.Namespace) -> int:
    """Seconds per measured run. Every run starts all connections at once, so a server that
    interleaves slow requests completes its first ones only after about one latency: runs
    last at least ten warm-up latencies to keep that loss under a tenth."""
    latency = warmup["p50_ms"] / 1000 if warmup["rps"] else WARMUP_SECONDS
    return min(MAX_RUN_SECONDS, max(args.duration, math.ceil(10 * latency)))


BARE = ("bare_async", "bare_sync")


def _apps(targets: dict[str, Server], s: Scenario) -> dict[str, Server]:
    """The scenario's medsvc process, named medsvc, and the two bare apps."""
    return {"medsvc": targets[s.app], **{name: targets[name] for name in BARE}}


def measure(
    targets: dict[str, Server], scenarios: list[Scenario], args: argparse.Namespace
) -> list[dict[str, object]]:
    """Every scenario against its medsvc and the bare apps; per run, they take turns."""
    lengths = {}
    for s in scenarios:  # warm-up: connections, caches, lazy imports; not recorded
        for name, server in _apps(targets, s).items():
            warmup = run_wrk(server, s, min(WARMUP_SECONDS, args.duration))
            lengths[(s.name, name)] = run_length(warmup, args)
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for n in range(args.runs):
        for s in scenarios:
            for name, server in _apps(targets, s).items():  # interleaved: drift hits all alike
                sample = run_wrk(server, s, lengths[(s.name, name)])
                runs.setdefault((s.name, name), []).append(sample)
                print(
                    f"  run {n + 1} {s.name:<14} {name:<10} {sample['rps']:8.1f} req/s "
                    f"p50 {sample['p50_ms']:7.2f} ms p99 {sample['p99_ms']:8.2f} ms "
                    f"CPU {sample['server_cpu']:4.0%} ({lengths[(s.name, name)]} s)"
                    + (f"  ERRORS {sample['errors']:.0f}" if sample["errors"] else ""),
                    flush=True,
                )
    names = ("medsvc", *BARE)
    return [
        {
            "name": s.name,
            "label": s.label,
            "clients": s.clients,
            **{name: median_of(runs[(s.name, name)]) for name in names},
            "runs": {name: runs[(s.name, name)] for name in names},
        }
        for s in scenarios
    ]
