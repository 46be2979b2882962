"""What belongs to a hospital, as SQL: the patients in its view are found from its own
appointments, so that finding them costs the same however many other records name patients
(every audit record of a citizen's read names them)."""

from pathlib import Path

from sqlalchemy import create_engine, select, text

from medsvc import migrate
from medsvc.fhir import organizations


def test_a_hospitals_patients_are_found_from_its_appointments(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plan.db'}"
    migrate.upgrade(url)
    view = organizations.patients("Organization/o1")
    statement = select(view.c[0]).compile(
        dialect=create_engine(url).dialect, compile_kwargs={"literal_binds": True}
    )
    engine = create_engine(url)
    with engine.connect() as connection:
        plan = [row[3] for row in connection.execute(text(f"EXPLAIN QUERY PLAN {statement}"))]
    engine.dispose()
    assert any("resource_pk=? AND param=? AND target_type=?" in step for step in plan), plan
    # A lookup by target type alone would read every reference to any patient.
    assert not any(step.endswith("(target_type=?)") for step in plan), plan
