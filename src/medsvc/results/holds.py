"""A clinician's hold on a result, and their release of it: a report together with its
Observations. Only a result not yet released can be held.

Services here only execute statements; the caller's unit of work commits.
"""

from sqlalchemy import Connection, select, tuple_, update

from medsvc.errors import Conflict
from medsvc.fhir import Stored, jsonio, references
from medsvc.results.release import HELD, REL, RELEASE, RELEASED, WAITING, log, release_now


class AlreadyReleased(Conflict):
    """The result is visible to its patient already: a hold would come too late."""


def with_its_results(stored: Stored, base_url: str) -> list[tuple[str, str]]:
    """The result and, for a report, the Observations it lists."""
    found = [(stored.resource_type, stored.id)]
    if stored.resource_type == "DiagnosticReport" and stored.content is not None:
        for item in jsonio.loads_stored(stored.content).get("result") or []:
            target = references.local_target((item or {}).get("reference"), base_url)
            if target is not None and target.type == "Observation":
                found.append((target.type, target.id))
    return found


def _states(session: Connection, results: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    rows = session.execute(
        select(REL.resource_type, REL.resource_id, REL.state).where(
            tuple_(REL.resource_type, REL.resource_id).in_(results)
        )
    ).all()
    return {(r.resource_type, r.resource_id): r.state for r in rows}


def hold(session: Connection, stored: Stored, base_url: str, by: str, reason: str) -> None:
    results = with_its_results(stored, base_url)
    states = _states(session, results)
    if states.get((stored.resource_type, stored.id)) == RELEASED:
        raise AlreadyReleased(f"{stored.resource_type}/{stored.id} is released already")
    for resource_type, resource_id in results:
        if states.get((resource_type, resource_id)) in (WAITING, HELD):
            session.execute(
                update(RELEASE)
                .where(REL.resource_type == resource_type, REL.resource_id == resource_id)
                .values(state=HELD, hold_reason=reason, due_at=None)
            )
            log(session, "held", f"{resource_type}/{resource_id}", by, reason)


def release(session: Connection, stored: Stored, base_url: str, by: str) -> None:
    """Releases the result (and a report's Observations) now, whatever held it back."""
    results = with_its_results(stored, base_url)
    states = _states(session, results)
    for resource_type, resource_id in results:
        if states.get((resource_type, resource_id)) in (WAITING, HELD):
            release_now(session, resource_type, resource_id, by)
