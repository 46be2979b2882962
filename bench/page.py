"""docs/benchmarks.md as the benchmarks write it: each its own section between markers, its
figures in one format."""

import math
from pathlib import Path


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
