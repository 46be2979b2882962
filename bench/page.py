"""docs/benchmarks.md as the benchmarks write it: each its own section between markers."""

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
