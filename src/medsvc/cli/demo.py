"""The demo city (demo_city, demo_visits, demo_results) and its people (demo_access), loaded
as one transaction of conditional creates: loading again adds nothing but the free times of
days not loaded before and the doctor's day of a day not loaded before."""

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.cli import demo_access, demo_city, demo_results, demo_visits
from medsvc.cli.demo_bundle import Entries
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import parse_bundle, run_transaction
from medsvc.security.context import platform_context


def entries(settings: Settings) -> Entries:
    """The whole demo as of today in the city's time zone."""
    zone = ZoneInfo(settings.timezone)
    today = clock.now().astimezone(zone).date()
    found = Entries()
    demo_city.add_city(found, today, zone)
    demo_visits.add_citizens(found)
    demo_visits.add_visits(found, today, zone)
    demo_results.add_results(found, today, zone)
    return found


def _created(keys: list[str], responses: list[dict[str, Any]]) -> dict[str, str]:
    """Type/id of each entry, by its demo key."""
    found = {}
    for key, response in zip(keys, responses, strict=True):
        location = response["response"]["location"].split("/_history")[0]
        found[key] = "/".join(location.rsplit("/", 2)[-2:])
    return found


def load(settings: Settings, directory: Path = demo_access.DEMO_DIR) -> dict[str, Any]:
    """Loads the demo data, people and clients; returns how many resources were created and
    already present, and who may sign in."""
    demo = entries(settings)
    database = Database(settings)
    server = fhir_server(settings)
    try:
        _kind, parsed = parse_bundle(demo.bundle(), settings.base_url)
        with database.session(write=True) as session:
            responses = run_transaction(server, session, platform_context("demo"), parsed, None)
            ids = _created(demo.keys, responses)
            people = {user: ids[key] for user, (key, _who) in demo_access.PEOPLE.items()}
            hospital = ids[demo_city.FIRST.key]
            access = demo_access.ensure(session, people, hospital, directory)
    finally:
        database.dispose()
    created = sum(1 for r in responses if r["response"]["status"].startswith("201"))
    return {"created": created, "existing": len(responses) - created, "access": access}
