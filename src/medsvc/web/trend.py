"""A measurement's trend as a chart drawn on the server: one patient's values of one code over
time placed on an SVG's plane, the reference range as a band, and each value's flag given by
its point's shape and a word, so that the chart reads without colour."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medsvc.web.display import parse_instant
from medsvc.web.results_view import ObservationRow, observation_row, range_bounds

# The plane in SVG user units; the SVG scales to the page's width.
WIDTH, HEIGHT = 340, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 30
MARK = 6  # a point's half size
TICKS = 4


# Coordinates are written as text here, once, to a tenth of a unit: a template's filter call
# per coordinate costs more than the whole point.


def _at(coordinate: float) -> str:
    return f"{coordinate:.1f}"


@dataclass(frozen=True)
class Point:
    when: str
    row: ObservationRow
    x: str
    label_y: str  # where its value is written, above the mark
    shape: str  # SVG path of the point's mark: a circle-like diamond, or a triangle


@dataclass(frozen=True)
class Band:
    top: str
    height: str


@dataclass(frozen=True)
class Tick:
    y: str  # the grid line's
    text_y: str  # its value's, written beside it
    value: float


@dataclass(frozen=True)
class Chart:
    points: list[Point]
    line: str  # the polyline's points attribute
    band: Band | None
    ticks: list[Tick]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = HEIGHT - BOTTOM


@dataclass(frozen=True)
class Measured:
    when: datetime
    instant: str
    row: ObservationRow
    bounds: tuple[float | None, float | None]


def measured(observations: list[dict[str, Any]]) -> list[Measured]:
    """The observations with a number and a time, oldest first."""
    found = []
    for observation in observations:
        row = observation_row(observation)
        instant = str(observation.get("effectiveDateTime") or observation.get("issued") or "")
        when = parse_instant(instant)
        if row.number is not None and when is not None:
            found.append(Measured(when, instant, row, range_bounds(observation)))
    return sorted(found, key=lambda m: m.when)


def _shape(flag: str, x: float, y: float) -> str:
    """Up for high, down for low, a diamond otherwise."""
    if flag in ("high", "critical-high"):
        corners = [(x, y - MARK), (x + MARK, y + MARK), (x - MARK, y + MARK)]
    elif flag in ("low", "critical-low"):
        corners = [(x, y + MARK), (x + MARK, y - MARK), (x - MARK, y - MARK)]
    else:
        corners = [(x, y - MARK), (x + MARK, y), (x, y + MARK), (x - MARK, y)]
    return "M" + " L".join(f"{_at(cx)},{_at(cy)}" for cx, cy in corners) + " Z"


def _point(value: Measured, x: float, y: float) -> Point:
    return Point(value.instant, value.row, _at(x), _at(y - 10), _shape(value.row.flag, x, y))


def _tick(y: float, value: float) -> Tick:
    return Tick(_at(y), _at(y + 4), value)


def _span(values: list[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    margin = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    return low - margin, high + margin


def chart(values: list[Measured]) -> Chart | None:
    """The chart of two or more values; one value is a table's line, not a trend."""
    if len(values) < 2:
        return None
    low_bound, high_bound = values[-1].bounds  # the latest range is the one the patient reads
    numbers = [m.row.number for m in values if m.row.number is not None]
    low, high = _span(numbers + [b for b in (low_bound, high_bound) if b is not None])
    first, last = values[0].when.timestamp(), values[-1].when.timestamp()
    plane_width, plane_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(when: datetime) -> float:
        share = (when.timestamp() - first) / (last - first) if last > first else 0.5
        return LEFT + share * plane_width

    def y_of(value: float) -> float:
        return TOP + (high - value) / (high - low) * plane_height

    placed = [(m, x_of(m.when), y_of(m.row.number or 0.0)) for m in values]
    band = None
    if low_bound is not None or high_bound is not None:
        top = y_of(high_bound) if high_bound is not None else TOP
        bottom = y_of(low_bound) if low_bound is not None else TOP + plane_height
        band = Band(_at(top), _at(max(bottom - top, 0.0)))
    ticks = [
        _tick(y_of(low + (high - low) * i / TICKS), round(low + (high - low) * i / TICKS, 2))
        for i in range(TICKS + 1)
    ]
    line = " ".join(f"{_at(x)},{_at(y)}" for _m, x, y in placed)
    return Chart([_point(m, x, y) for m, x, y in placed], line, band, ticks)
