"""A benchmark run with its medsvc processes pinned, from the CPUs it runs on to the page:
the medsvc processes on one CPU and the runner on the others, the backends in turn, the
samples kept as JSON in bench/results/, and the section written into docs/benchmarks.md."""

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import booking_bench
import booking_report
import report
from servers import BENCH_DIR


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """What every pinned run takes: the backends, pinning, a smoke run, where the section
    goes, and rendering a saved run again."""
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler move the processes between CPUs (by default the medsvc "
        "processes run on the last CPU, the runner and its helpers on the others)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: 1 short run; prints the section"
    )
    parser.add_argument("--output", type=Path, help="page (default docs/benchmarks.md)")
    parser.add_argument(
        "--render", type=Path, metavar="JSON", help="only rewrite the section from a saved run"
    )


def pin_cpus() -> set[int] | None:
    """Puts the runner (and wrk, its child) on every CPU but the last, and returns the last,
    for the medsvc processes: a sample then runs where the one before it ran, not wherever the
    scheduler sends it. None on a machine of one CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    os.sched_setaffinity(0, set(cpus[:-1]))
    return {cpus[-1]}


def run_and_report(
    args: argparse.Namespace,
    name: str,
    backend_run: Callable[[str, argparse.Namespace], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
    write_section: Callable[[Path, str], None],
    output: Path,
) -> int:
    """Runs each backend of args.backend, saves the samples as bench/results/NAME-latest.json
    (NAME-quick.json for --quick, whose section is printed unless --output is given) and
    writes the section."""
    machine = booking_report.machine()  # before pinning, which hides the other CPUs
    args.server_cpus = None if args.no_pin else pin_cpus()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    started, commit, digest = time.monotonic(), report.commit(), booking_bench.code_digest()
    results = [backend_run(backend, args) for backend in backends]
    saved = {
        "args": {k: v for k, v in vars(args).items() if not isinstance(v, (Path, set))},
        "server_cpus": sorted(args.server_cpus or ()),
        "elapsed": time.monotonic() - started,
        "code": booking_bench.code_state(commit, digest),
        "when": time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine": machine,
        "results": results,
    }
    (BENCH_DIR / "results").mkdir(exist_ok=True)
    kept = f"{name}-quick.json" if args.quick else f"{name}-latest.json"
    (BENCH_DIR / "results" / kept).write_text(json.dumps(saved, indent=1, default=str))
    section = render(saved)
    if args.quick and not args.output:
        print(section)
    else:
        write_section(output, section)
        print(f"wrote the {name} section of {output}")
    return 0
