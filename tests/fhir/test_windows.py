"""A window on a single-instant parameter (Slot.start) drives a search as one index range;
it must find exactly what the two bounds find one by one, at every prefix and precision."""

from datetime import UTC, datetime, timedelta
from itertools import product

import httpx

from medsvc.fhir.definitions import get_definitions
from medsvc.fhir.search.params import QueryParser
from medsvc.fhir.search.windows import find_window
from tests.factories import FHIR_JSON, schedule, slot

BASE = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
OFFSETS = [timedelta(0), timedelta(milliseconds=1), timedelta(seconds=59, milliseconds=999)]
OFFSETS += [timedelta(minutes=m) for m in (30, 60, 24 * 60 - 1, 24 * 60, 24 * 60 + 1)]
BOUNDS = ["2030-03-01", "2030-03-01T09:00:00Z", "2030-03-01T09:00:00.001Z", "2030-03-02"]


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ids(client: httpx.Client, query: list[tuple[str, str]]) -> set[str]:
    bundle = client.get("/Slot", params=[*query, ("_count", "100")]).json()
    return {e["resource"]["id"] for e in bundle.get("entry", [])}


def criteria(resource_type: str, query: list[tuple[str, str]]) -> list:
    parser = QueryParser(
        get_definitions(), resource_type, strict=True, default_count=10, max_count=10
    )
    return parser.parse(query).criteria


def test_a_window_is_two_bounds_on_one_single_instant() -> None:
    assert find_window(criteria("Slot", [("start", "ge2030"), ("start", "lt2031")]))
    assert find_window(criteria("Appointment", [("date", "gt2030"), ("date", "le2031")]))
    assert not find_window(criteria("Slot", [("start", "ge2030")]))
    assert not find_window(criteria("Slot", [("start", "ge2030,ge2031"), ("start", "lt2032")]))
    assert not find_window(criteria("Schedule", [("date", "ge2030"), ("date", "lt2031")]))


def test_a_window_finds_what_its_bounds_find(client: httpx.Client) -> None:
    sched = client.post("/Schedule", json=schedule("Practitioner/x"), headers=FHIR_JSON).json()
    for offset in OFFSETS:
        start, end = BASE + offset, BASE + offset + timedelta(minutes=5)
        body = slot(f"Schedule/{sched['id']}", instant(start), instant(end))
        assert client.post("/Slot", json=body, headers=FHIR_JSON).status_code == 201
    lows, highs = product(("ge", "gt", "sa"), BOUNDS), product(("lt", "le", "eb"), BOUNDS)
    for (low_prefix, low), (high_prefix, high) in product(lows, highs):
        lower, upper = ("start", low_prefix + low), ("start", high_prefix + high)
        assert ids(client, [lower, upper]) == ids(client, [lower]) & ids(client, [upper])
