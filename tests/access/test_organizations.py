"""What belongs to a hospital, as SQL: the patients in its view are found from its own
appointments, so that finding them costs the same however many other records name patients
(every audit record of a citizen's read names them); and each of its sets is one object,
however many threads ask for it first."""

import sys
import threading
from pathlib import Path

from sqlalchemy import create_engine, select, text

from medsvc.access import organizations
from medsvc.fhir.tables import ResourceRow
from medsvc.kit import migrate

RESOURCE = ResourceRow.__table__  # type: ignore[attr-defined]


def test_a_hospitals_patients_are_found_from_its_appointments(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    view = organizations.patients("Organization/o1")
    statement = select(view.c[0]).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with engine.connect() as connection:
        plan = [row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"))]
    engine.dispose()
    assert any("resource_pk=? AND param=? AND target_type=?" in step for step in plan), plan
    # A lookup by target type alone would read every reference to any patient.
    assert not any(step.endswith("(target_type=?)") for step in plan), plan


def test_an_organizations_sets_are_made_once_under_concurrent_first_use() -> None:
    # A statement names each set once: two threads making an organization's sets at once
    # must not leave two different CTEs of one name behind (a CompileError, then a 500).
    threads, orgs = 8, [f"Organization/race-{n}" for n in range(20)]
    barrier = threading.Barrier(threads)
    compiled: list[str] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        barrier.wait()
        try:
            for org in orgs:
                statement = select(organizations.patients(org).c[0]).where(
                    organizations.view(org, "Appointment", RESOURCE, writing=False)
                )
                compiled.append(str(statement.compile()))
        except BaseException as error:  # reported below, by the main thread
            errors.append(error)

    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave within the sets' construction
    try:
        workers = [threading.Thread(target=first_use) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switching)
    assert errors == []
    assert len(compiled) == threads * len(orgs)
