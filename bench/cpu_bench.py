"""What the in-process CPU benchmarks share: a fresh database of each kind, the median table
beside a baseline measured in the same run, and the command line that writes their section
of docs/benchmarks.md."""

import argparse
import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from page import write_marked
from servers import postgres_database

PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BACKENDS = ("sqlite", "postgresql")
Measured = dict[str, list[float]]  # step name -> CPU seconds per call, one per run
Measure = Callable[[str, int, int], Measured]  # (backend, runs, iterations)


@contextmanager
def database_of(backend: str) -> Iterator[str]:
    """The URL of a database of its own, dropped (PostgreSQL) or deleted (SQLite) after."""
    if backend == "postgresql":
        with postgres_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        yield f"sqlite:///{directory}/bench.db"


def median_table(
    backend: str, measured: Measured, baseline: str, columns: tuple[str, str]
) -> tuple[list[str], dict[str, float]]:
    """The backend's table (µs of CPU, runs' range, times the baseline) and the medians."""
    medians = {name: statistics.median(values) for name, values in measured.items()}
    what, ratio_of = columns
    lines = [
        f"### {backend}",
        "",
        f"| {what} | µs of CPU (median) | runs' range | times {ratio_of} |",
        "| --- | --- | --- | --- |",
    ]
    for name, values in measured.items():
        low, high = min(values) * 1e6, max(values) * 1e6
        ratio = medians[name] / medians[baseline]
        lines.append(
            f"| {name} | {medians[name] * 1e6:,.0f} | {low:,.0f}-{high:,.0f} | {ratio:.2f} |"
        )
    return lines, medians


def main(
    description: str,
    measure: Measure,
    section: Callable[[list[tuple[str, Measured]], int, int], str],
    markers: tuple[str, str],
) -> None:
    """Measures each backend asked for (both by default), prints the section and writes it."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--backend", choices=BACKENDS, action="append")
    args = parser.parse_args()
    results = [(b, measure(b, args.runs, args.iterations)) for b in args.backend or BACKENDS]
    page = section(results, args.runs, args.iterations)
    print(page)
    write_marked(PAGE, page, *markers)
