"""docs/benchmarks.md as the benchmarks write it: each its own section between markers, its
figures in one format."""

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_marked(page: Path, section: str, start: str, end: str) -> None:
    """Replaces the section between the markers, or appends it when the page has none."""
    text = page.read_text() if page.exists() else "# Benchmarks\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    page.write_text(text)


def ms(value: float) -> str:
    """Milliseconds with the digits that matter; '-' for none measured."""
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def rate(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


# What the HTTP benchmarks need besides the project, as their sections say it.
NEEDS_WRK_AND_POSTGRES = (
    "Needs `wrk` and, for PostgreSQL, a server at 127.0.0.1:5432 (user `postgres`, trust; "
    "`MEDSVC_BENCH_POSTGRES_URL` points elsewhere)"
)


def raw_runs(
    results: list[dict[str, Any]], runs: Callable[[dict[str, Any]], list[str]]
) -> list[str]:
    """Each backend's table of every run, under one heading."""
    out = ["### Raw runs", ""]
    for backend in results:
        out += [f"{backend['backend']}:", "", *runs(backend), ""]
    return out


def reproducing(commands: list[str], needs: str, name: str, end: str) -> list[str]:
    """A section's last part: the commands that run it again, what they need, where the raw
    samples of the last run are kept, and the section's end marker."""
    return [
        "### Reproducing",
        "",
        "```sh",
        *commands,
        "```",
        "",
        f"{needs}. Raw samples of the last run: `bench/results/{name}-latest.json`; "
        "`--render` rewrites this section from it.",
        "",
        end,
    ]
