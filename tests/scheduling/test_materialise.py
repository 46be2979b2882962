"""The templates job on both databases: slots made as the template says, once however often
and in however many workers it runs, kept in step with a changed template, and never a
booked slot or a hospital's own slot touched."""

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.fhir import jsonio, store
from medsvc.fhir.datetimes import parse_instant
from medsvc.fhir.store import RESOURCE
from medsvc.scheduling.ledger import LEDGER
from medsvc.scheduling.materialise import (
    BATCH,
    TEMPLATE_SLOT_SYSTEM,
    materialise_templates,
    template_slot_id,
)
from medsvc.scheduling.templates import TEMPLATE_URL
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient
from tests.scheduling.clinic import (
    CAPACITY_URL,
    CARDIOLOGY,
    Clinic,
    Open,
    created,
    hospital_context,
    open_clinic,
    slot_resource,
)

CITY = "Europe/Helsinki"
ZONE = ZoneInfo(CITY)
MONDAY = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # Monday 2 March 2026, 07:00 in Helsinki
HORIZON = 14  # days: 2 to 15 March, ten weekdays
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
SPECIALTY = {"coding": [{"system": "http://snomed.info/sct", "code": "394579002"}]}


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    clock.set_source(lambda: MONDAY)
    yield
    clock.reset()


def template(
    days: list[str] | None = None,
    start: str = "08:00:00",
    end: str = "12:00:00",
    minutes: int = 20,
    **more: int,
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "daysOfWeek", "valueCode": day} for day in (days or WEEKDAYS)
    ]
    parts += [
        {"url": "availableStartTime", "valueTime": start},
        {"url": "availableEndTime", "valueTime": end},
        {"url": "slotMinutes", "valuePositiveInt": minutes},
    ]
    parts += [{"url": name, "valuePositiveInt": value} for name, value in more.items()]
    return {"url": TEMPLATE_URL, "extension": parts}


def publish(
    http: httpx.Client, clinic: Clinic, *templates: dict[str, Any], **elements: Any
) -> dict[str, Any]:
    """The clinic's Schedule with these templates (PUT), as stored."""
    current = http.get(f"/Schedule/{clinic.schedule}").json()
    current.pop("meta", None)
    current["extension"] = list(templates)
    if not templates:
        del current["extension"]
    current.update(elements)
    response = http.put(f"/Schedule/{clinic.schedule}", json=current, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    return dict(response.json())


def run(
    backend: Backend, now: datetime = MONDAY, horizon: int = HORIZON, batch: int = BATCH
) -> int:
    server = fhir_server(backend.settings)
    with backend.database.session(write=True) as session:
        return materialise_templates(server, horizon, CITY, session, now, batch)


def slots(backend: Backend) -> dict[str, tuple[int, dict[str, Any]]]:
    """Every Slot not deleted: id -> (version, resource)."""
    query = select(RESOURCE.c.id, RESOURCE.c.version_id, RESOURCE.c.content).where(
        RESOURCE.c.resource_type == "Slot", RESOURCE.c.deleted.is_(False)
    )
    with backend.database.session(write=False) as session:
        return {
            row.id: (row.version_id, jsonio.loads_stored(row.content))
            for row in session.execute(query)
        }


def local(resource: dict[str, Any], element: str = "start") -> str:
    return parse_instant(resource[element]).astimezone(ZONE).strftime("%a %d %H:%M")


def minutes(resource: dict[str, Any]) -> int:
    length = parse_instant(resource["end"]) - parse_instant(resource["start"])
    return int(length.total_seconds() // 60)


def capacity(resource: dict[str, Any]) -> int:
    found = [e for e in resource.get("extension", []) if e["url"] == CAPACITY_URL]
    return int(found[0]["valueInteger"]) if found else 1


def book(client: httpx.Client, slot: dict[str, Any]) -> str:
    """A booked Appointment of a new patient in the slot, through the booking hooks."""
    patient_id = created(client, patient(mrn=f"mrn-{slot['id']}"))
    appointment = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "start": slot["start"],
        "end": slot["end"],
        "participant": [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}],
    }
    return created(client, appointment)


def taken(backend: Backend, slot_id: str) -> int:
    with backend.database.session(write=False) as session:
        query = select(LEDGER.c.taken).where(LEDGER.c.slot_id == slot_id)
        return int(session.execute(query).scalar_one())


def test_slots_are_made_as_the_templates_say(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(
        client,
        clinic,
        template(),
        template(["tue"], "13:00:00", "15:00:00", 30, capacity=3),
        specialty=[SPECIALTY],
    )
    assert run(clean) == 10 * 12 + 2 * 4
    made = {slot_id: resource for slot_id, (_v, resource) in slots(clean).items()}
    assert len(made) == 128
    mornings = [r for r in made.values() if minutes(r) == 20]
    afternoons = [r for r in made.values() if minutes(r) == 30]
    assert len(mornings) == 120
    assert sorted(local(r) for r in afternoons) == [
        f"Tue {day} {hour}" for day in ("03", "10") for hour in ("13:00", "13:30", "14:00", "14:30")
    ]
    assert {local(r)[:3] for r in mornings} == {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert min(local(r)[-5:] for r in mornings) == "08:00"
    assert max(local(r, "end")[-5:] for r in mornings) == "12:00"
    assert {capacity(r) for r in mornings} == {1}
    assert all("extension" not in r for r in mornings)  # capacity 1 goes without saying
    assert {capacity(r) for r in afternoons} == {3}
    for slot_id, resource in made.items():
        assert slot_id == template_slot_id(clinic.schedule, parse_instant(resource["start"]))
        assert resource["identifier"] == [{"system": TEMPLATE_SLOT_SYSTEM, "value": slot_id}]
        assert resource["schedule"] == {"reference": f"Schedule/{clinic.schedule}"}
        assert resource["serviceType"] == [CARDIOLOGY]
        assert resource["specialty"] == [SPECIALTY]
        assert resource["status"] == "free"
        assert taken(clean, slot_id) == 0  # in the booking ledger
    found = client.get("/Slot", params={"identifier": f"{TEMPLATE_SLOT_SYSTEM}|", "_count": 1})
    assert found.json()["total"] == 128


def test_a_second_run_writes_nothing(client: httpx.Client, clean: Backend, clinic: Clinic) -> None:
    publish(client, clinic, template())
    assert run(clean) == 120
    before = slots(clean)
    assert run(clean) == 0
    assert run(clean, MONDAY + timedelta(minutes=10)) == 0
    assert slots(clean) == before
    assert {version for version, _r in before.values()} == {1}


def test_two_workers_at_once_make_each_slot_once(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(client, clinic, template())
    start = threading.Barrier(2)
    done: list[int] = []
    failed: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            done.append(run(clean))
        except BaseException as error:  # reported below: a thread's error is otherwise lost
            failed.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failed == []
    assert sorted(done) == [0, 120]
    made = slots(clean)
    assert len(made) == 120
    assert {version for version, _r in made.values()} == {1}
    assert run(clean) == 0


class Lines(logging.Handler):
    """The job's log records (the medsvc loggers do not propagate to pytest's capture)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def job_log() -> Iterator[Lines]:
    lines = Lines()
    logger = logging.getLogger("medsvc.scheduling.materialise")
    logger.addHandler(lines)
    yield lines
    logger.removeHandler(lines)


def test_a_worker_that_loses_the_race_skips_the_schedule(
    client: httpx.Client, clean: Backend, clinic: Clinic, job_log: Lines
) -> None:
    """The second worker plans while the first has written but not committed: on PostgreSQL
    its first insert waits for the first worker, then conflicts; on SQLite it waits for the
    writer connection and then finds every slot made."""
    publish(client, clinic, template())
    server = fhir_server(clean.settings)
    results: dict[str, int] = {}
    written, release = threading.Event(), threading.Event()

    def first() -> None:
        with clean.database.session(write=True) as session:
            results["first"] = materialise_templates(server, HORIZON, CITY, session, MONDAY)
            written.set()
            release.wait(10)

    def second() -> None:
        results["second"] = run(clean)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert written.wait(10)
    threads[1].start()
    time.sleep(0.5)  # the second worker has planned, and waits
    release.set()
    for thread in threads:
        thread.join()
    assert results == {"first": 120, "second": 0}
    assert len(slots(clean)) == 120
    if clean.name == "postgresql":
        [line] = job_log.records
        assert line.getMessage() == "schedule templates skipped"
        fields = line.fields  # type: ignore[attr-defined]
        assert fields == {"schedule": clinic.schedule, "error": "IntegrityError"}


def test_a_schedule_whose_slots_cannot_be_written_is_skipped_alone(
    client: httpx.Client, clean: Backend, clinic: Clinic, job_log: Lines
) -> None:
    """Its writes of the run are undone together (a savepoint: here a deletion before the
    failing write), and the other schedules' writes stand."""
    other = open_clinic(client, "Other Hospital")
    for each in (clinic, other):
        publish(client, each, template(["mon"], "08:00:00", "09:00:00"))
    assert run(clean) == 2 * 2 * 3  # two schedules, two Mondays, three slots
    before = slots(clean)
    publish(client, other, template(["mon"], "08:00:00", "09:00:00", capacity=2))
    broken = publish(client, clinic, template(["mon"], "08:00:00", "08:40:00"))
    broken["serviceType"] = [{"text": 5}]  # stored around the validation: slots refuse it
    server = fhir_server(clean.settings)
    with clean.database.session(write=True) as session:
        current = store.read_current(
            session, server.sealer, "Schedule", clinic.schedule, for_update=True
        )
        assert current is not None
        definition = server.definition("Schedule", "update")
        store.add_version(
            session, server.sealer, definition, current, broken, "PUT", server.base_url
        )
    assert run(clean) == 2 * 3
    after = slots(clean)
    mine = f"Schedule/{clinic.schedule}"
    assert {k: v for k, v in after.items() if v[1]["schedule"]["reference"] == mine} == {
        k: v for k, v in before.items() if v[1]["schedule"]["reference"] == mine
    }
    assert {capacity(r) for v, r in after.values() if r["schedule"]["reference"] != mine} == {2}
    [line] = job_log.records
    assert line.fields == {"schedule": clinic.schedule, "error": "Structure"}  # type: ignore[attr-defined]


def _by_time(backend: Backend) -> dict[str, tuple[int, dict[str, Any]]]:
    return {local(resource): (v, resource) for v, resource in slots(backend).values()}


def test_a_changed_template_changes_free_slots_and_leaves_booked_ones(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(client, clinic, template())
    run(clean)
    booked_slot = _by_time(clean)["Tue 03 10:20"][1]
    book(client, booked_slot)
    assert taken(clean, booked_slot["id"]) == 1
    booked_now = client.get(f"/Slot/{booked_slot['id']}").json()  # busy, version 2
    publish(client, clinic, template(start="09:00:00", minutes=30, capacity=2))
    # Each of the nine other days: 9 deleted, 3 changed (09, 10, 11 o'clock) and 3 made.
    # Tuesday 3rd: 10:00 and 10:30 would overlap the booked slot, so that day is 9 deleted,
    # 2 changed, 2 made.
    assert run(clean) == 9 * 15 + 13
    after = _by_time(clean)
    assert len(after) == 9 * 6 + 5
    assert client.get(f"/Slot/{booked_slot['id']}").json() == booked_now
    tuesday = sorted(when for when in after if when.startswith("Tue 03"))
    assert tuesday == [
        "Tue 03 09:00",
        "Tue 03 09:30",
        "Tue 03 10:20",
        "Tue 03 11:00",
        "Tue 03 11:30",
    ]
    for when, (version, resource) in after.items():
        if when == "Tue 03 10:20":
            continue
        assert minutes(resource) == 30
        assert capacity(resource) == 2
        assert version == (2 if when.endswith(":00") else 1)  # changed in place, or new
    assert run(clean) == 0


def test_slots_are_never_made_in_the_past(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(client, clinic, template())
    late_monday = MONDAY + timedelta(hours=3, minutes=10)  # 10:10 in Helsinki
    assert run(clean, late_monday) == 5 + 9 * 12
    monday = sorted(when for when in _by_time(clean) if when.startswith("Mon 02"))
    assert monday == [f"Mon 02 {t}" for t in ("10:20", "10:40", "11:00", "11:20", "11:40")]
    # A template removed later leaves the slots that have started or passed as they are.
    publish(client, clinic)
    assert run(clean, late_monday + timedelta(minutes=45)) == 9 * 12 + 3  # from 11:00 on
    assert sorted(_by_time(clean)) == ["Mon 02 10:20", "Mon 02 10:40"]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Clocks go forward on Sunday 29 March 2026, from UTC+2 to UTC+3.
        (datetime(2026, 3, 27, 0, 0, tzinfo=UTC), ["06:00", "06:00", "05:00", "05:00", "05:00"]),
        # And back on Sunday 25 October 2026, from UTC+3 to UTC+2.
        (datetime(2026, 10, 23, 0, 0, tzinfo=UTC), ["05:00", "05:00", "06:00", "06:00", "06:00"]),
    ],
    ids=["spring", "autumn"],
)
def test_eight_oclock_stays_eight_oclock_across_daylight_saving(
    client: httpx.Client, clean: Backend, clinic: Clinic, now: datetime, expected: list[str]
) -> None:
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    publish(client, clinic, template(every_day, "08:00:00", "09:00:00", 60))
    assert run(clean, now, horizon=5) == 5
    made = sorted(r["start"] for _v, r in slots(clean).values())
    assert [start[11:16] for start in made] == expected  # UTC
    assert {parse_instant(s).astimezone(ZONE).strftime("%H:%M") for s in made} == {"08:00"}


def test_the_planning_horizon_and_a_templates_own_horizon_bound_the_slots(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(client, clinic, template(), planningHorizon={"end": "2026-03-04"})
    assert run(clean) == 3 * 12  # Monday to Wednesday
    publish(client, clinic, template(horizonDays=2))
    assert run(clean) == 12  # Wednesday's went; Monday and Tuesday stay
    assert sorted({when[:6] for when in _by_time(clean)}) == ["Mon 02", "Tue 03"]


def test_a_malformed_template_is_refused_and_nothing_changes(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    bad = template()
    bad["extension"] = [p for p in bad["extension"] if p["url"] != "slotMinutes"]
    before = client.get(f"/Schedule/{clinic.schedule}").json()
    changed = {k: v for k, v in before.items() if k != "meta"} | {"extension": [bad]}
    response = client.put(f"/Schedule/{clinic.schedule}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    [issue] = response.json()["issue"]
    assert issue["code"] == "business-rule"
    assert issue["expression"] == ["Schedule.extension[0].extension.where(url='slotMinutes')"]
    assert "slotMinutes" in issue["diagnostics"]
    assert client.get(f"/Schedule/{clinic.schedule}").json() == before
    new = {k: v for k, v in changed.items() if k != "id"}
    response = client.post("/Schedule", json=new, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    entry = {"resource": new, "request": {"method": "POST", "url": "Schedule"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    response = client.post("", json=bundle, headers=FHIR_JSON)
    assert response.status_code == 422, response.text
    assert response.json()["issue"][0]["code"] == "business-rule"
    patch = [{"op": "add", "path": "/extension", "value": [bad]}]
    response = client.patch(
        f"/Schedule/{clinic.schedule}",
        json=patch,
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code == 422, response.text
    # A value its FHIR type forbids is malformed JSON for FHIR: 400, like any other.
    typo = template(start="8:00")
    response = client.post("/Schedule", json=new | {"extension": [typo]}, headers=FHIR_JSON)
    assert response.status_code == 400, response.text
    assert client.get("/Schedule").json()["total"] == 1
    assert client.get(f"/Schedule/{clinic.schedule}").json() == before
    assert run(clean) == 0


def test_a_hospitals_own_slots_are_never_touched(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    own = slot_resource(clinic.schedule, MONDAY + timedelta(hours=1))  # Monday 08:00
    other = slot_resource(clinic.schedule, MONDAY + timedelta(days=1, hours=1))
    other["identifier"] = [{"system": "urn:hospital:slot", "value": "x-1"}]
    own_id, other_id = created(client, own), created(client, other)
    publish(client, clinic, template())
    assert run(clean) == 120
    publish(client, clinic, template(start="09:00:00"))
    assert run(clean) == 10 * 3  # the 08:00 to 09:00 template slots, and none of the others
    publish(client, clinic, active=False)
    assert run(clean) == 10 * 9
    assert {slot_id: version for slot_id, (version, _r) in slots(clean).items()} == {
        own_id: 1,
        other_id: 1,
    }


@pytest.mark.parametrize("how", ["inactive", "deleted", "without templates"])
def test_a_retired_schedules_free_slots_go_and_booked_ones_stay(
    client: httpx.Client, clean: Backend, clinic: Clinic, how: str
) -> None:
    publish(client, clinic, template())
    run(clean)
    kept = _by_time(clean)["Wed 04 09:00"][1]
    book(client, kept)
    if how == "inactive":
        publish(client, clinic, template(), active=False)
    elif how == "deleted":
        assert client.delete(f"/Schedule/{clinic.schedule}").status_code == 204
    else:
        publish(client, clinic)
    assert run(clean) == 119
    assert list(slots(clean)) == [kept["id"]]
    assert taken(clean, kept["id"]) == 1


def test_a_hospital_may_close_a_template_slot_and_the_job_keeps_it_closed(
    clean: Backend, acting_as: Open, client: httpx.Client, clinic: Clinic
) -> None:
    hospital = acting_as(hospital_context(clinic.organization))
    publish(hospital, clinic, template(["mon"], "08:00:00", "09:00:00"))
    assert run(clean) == 6
    slot_id = template_slot_id(clinic.schedule, MONDAY + timedelta(hours=1))
    slot = hospital.get(f"/Slot/{slot_id}").json()
    slot.pop("meta")
    slot["status"] = "busy-unavailable"
    slot["comment"] = "Training day"
    response = hospital.put(f"/Slot/{slot_id}", json=slot, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert run(clean) == 0
    # A new capacity changes the closed slot's capacity and keeps it closed.
    publish(hospital, clinic, template(["mon"], "08:00:00", "09:00:00", capacity=2))
    assert run(clean) == 6
    version, closed = slots(clean)[slot_id]
    assert version == 3
    assert (closed["status"], closed["comment"], capacity(closed)) == (
        "busy-unavailable",
        "Training day",
        2,
    )


def test_a_deleted_template_slot_comes_back_while_the_template_gives_it(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(client, clinic, template(["mon"], "08:00:00", "09:00:00"))
    assert run(clean) == 6
    slot_id = template_slot_id(clinic.schedule, MONDAY + timedelta(hours=1))
    assert client.delete(f"/Slot/{slot_id}").status_code == 204
    assert run(clean) == 1
    assert slots(clean)[slot_id][0] == 3


def test_a_run_writes_at_most_its_batch_the_earliest_first(
    client: httpx.Client, clean: Backend, clinic: Clinic
) -> None:
    publish(client, clinic, template())
    assert run(clean, batch=10) == 10
    assert sorted(_by_time(clean)) == sorted(
        [f"Mon 02 {t}" for t in ("08:00", "08:20", "08:40", "09:00", "09:20", "09:40")]
        + [f"Mon 02 {t}" for t in ("10:00", "10:20", "10:40", "11:00")]
    )
    assert run(clean, batch=100) == 100
    assert run(clean) == 10
    assert run(clean) == 0


def test_a_long_schedule_id_gives_hashed_slot_ids(client: httpx.Client, clean: Backend) -> None:
    schedule_id = "s" * 60
    schedule = {
        "resourceType": "Schedule",
        "id": schedule_id,
        "actor": [
            {"reference": f"Practitioner/{created(client, {'resourceType': 'Practitioner'})}"}
        ],
        "extension": [template(["mon"], "08:00:00", "09:00:00")],
    }
    response = client.put(f"/Schedule/{schedule_id}", json=schedule, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    assert run(clean) == 6
    ids = sorted(slots(clean))
    assert all(i.startswith("t-") and len(i) == 42 for i in ids)
    assert run(clean) == 0
