"""Releasing results to their patients: each result's state as it is written, the read filter
that hides what is not released from its patient, holds and releases by clinicians, and the
job that releases what is due. Every hold and release is logged (release_log).

Services here only execute statements; the caller's unit of work commits.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    bindparam,
    exists,
    insert,
    null,
    select,
    update,
)

from medsvc import clock
from medsvc.fhir import Registry, Sealer, Stored, TopicEvent, WriteEvent, index, references
from medsvc.fhir.index import RESOURCE
from medsvc.notify import texts
from medsvc.notify.language import TAGS, recipient_locale
from medsvc.notify.notifier import Notice, Notifier
from medsvc.results.at_rest import patient_of
from medsvc.results.release_rules import ReleaseRules
from medsvc.results.tables import ReleaseChoice, ReleaseLog, ResultRelease
from medsvc.security.context import AuthContext

RELEASE = ResultRelease.__table__  # type: ignore[attr-defined]
CHOICE = ReleaseChoice.__table__  # type: ignore[attr-defined]
LOG = ReleaseLog.__table__  # type: ignore[attr-defined]
REL = RELEASE.c
REF = index.REFERENCE
RELEASED_TYPES = frozenset({"DiagnosticReport", "Observation", "DocumentReference"})
VISIBLE_ONCE_RELEASED = RELEASED_TYPES | {"Binary"}
# What a patient is told about: a report or a document, not each of a report's Observations
# (nor a report's PDF: see _told_about).
TOLD_ABOUT = frozenset({"DiagnosticReport", "DocumentReference"})
WAITING, HELD, RELEASED = "waiting", "held", "released"
BATCH = 200  # results released, or patients told, per transaction of the job

# The statements every written result runs, built once: building a statement and its cache
# key costs more than SQLite takes to run it, and a lab push writes 21 results at a time.
_ONE = (REL.resource_type == bindparam("b_type"), REL.resource_id == bindparam("b_id"))
_STATE = select(REL.state, REL.due_at, REL.needs_review).where(*_ONE)
_TRACK = insert(RELEASE)
_RELEASE = (
    update(RELEASE)
    .where(*_ONE)
    .values(state=RELEASED, released_at=bindparam("b_at"), due_at=null(), hold_reason=null())
)
_DUE = update(RELEASE).where(*_ONE).values(due_at=bindparam("b_due"))
_LOG = insert(LOG)
_CHOICE = select(CHOICE.c.after_review).where(CHOICE.c.patient_id == bindparam("b_patient"))


def _one(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"b_type": resource_type, "b_id": resource_id}


def log(
    session: Connection, action: str, resource: str, by: str, reason: str | None = None
) -> None:
    values = {"at": clock.now(), "action": action, "resource": resource, "by": by, "reason": reason}
    session.execute(_LOG, values)


def wants_review(session: Connection, patient_id: str) -> bool:
    return bool(session.execute(_CHOICE, {"b_patient": patient_id}).scalar())


def release_now(session: Connection, resource_type: str, resource_id: str, by: str) -> None:
    session.execute(_RELEASE, {**_one(resource_type, resource_id), "b_at": clock.now()})
    log(session, "released", f"{resource_type}/{resource_id}", by)


@dataclass(frozen=True)
class ReleasePolicy:
    """The after-write hook on RELEASED_TYPES: a result written is waiting, due, or released
    at once."""

    rules: ReleaseRules
    base_url: str
    sealer: Sealer | None

    def after_write(
        self, session: Connection, _ctx: AuthContext, event: WriteEvent, stored: Stored
    ) -> None:
        if event.resource is None:
            return
        row = session.execute(_STATE, _one(stored.resource_type, stored.id)).first()
        if row is not None and (row.state != WAITING or row.due_at is not None):
            return  # released, held, or already due: a new version changes none of that
        review = (
            row.needs_review if row is not None else self._track(session, stored, event.resource)
        )
        if self.rules.releasable(event.resource) and not review:  # else a clinician releases it
            self._make_due(session, stored, event.resource)

    def _track(self, session: Connection, stored: Stored, resource: dict[str, Any]) -> bool:
        """Starts tracking a result as waiting; returns whether it waits for a review."""
        patient_id = patient_of(session, self.sealer, stored.resource_type, resource, self.base_url)
        review = self.rules.rule_for(resource).review or wants_review(session, patient_id)
        told = False if _told_about(resource, self.base_url) else None
        values = {
            "resource_type": stored.resource_type,
            "resource_id": stored.id,
            "patient_id": patient_id,
            "state": WAITING,
            "needs_review": review,
            "notified": told,
        }
        session.execute(_TRACK, values)
        return review

    def _make_due(self, session: Connection, stored: Stored, resource: dict[str, Any]) -> None:
        delay = self.rules.rule_for(resource).delay
        if not delay:
            release_now(session, stored.resource_type, stored.id, "policy")
            return
        due = {**_one(stored.resource_type, stored.id), "b_due": clock.now() + delay}
        session.execute(_DUE, due)


def _told_about(resource: dict[str, Any], base_url: str) -> bool:
    """Whether the patient is told of this result itself: a report, or a document that is no
    report's PDF (a document naming a DiagnosticReport in context.related is told of by it,
    so that one release of a result sends one notice)."""
    if resource.get("resourceType") not in TOLD_ABOUT:
        return False
    context = resource.get("context")
    related = context.get("related") if isinstance(context, dict) else None
    return not any(
        (target := references.local_target(r.get("reference"), base_url)) is not None
        and target.type == "DiagnosticReport"
        for r in related or []
        if isinstance(r, dict)
    )


def read_filter(
    ctx: AuthContext, resource_type: str, resource: FromClause
) -> ColumnElement[bool] | None:
    """A patient sees only released results, an Observation only once every report listing
    it is released too (a report's rule or hold covers its results), and a Binary through its
    released DocumentReference; whose they are is the compartments' concern. The hospital and
    the clinicians caring for the patient see them all."""
    if resource_type not in VISIBLE_ONCE_RELEASED or not ctx.patient or ctx.unrestricted:
        return None
    if resource_type == "Binary":
        return _through_released_document(resource)
    released = _released(resource_type, resource.c.id)
    if resource_type == "DocumentReference":
        related = _related_to_unreleased_report(resource.c.pk, _RELATED, _RELATED_RELEASE)
        return and_(released, ~related)
    if resource_type != "Observation":
        return released
    return and_(released, ~_listed_by_unreleased_report(resource))


# Each condition below selects from aliases of its own, made once (an alias's columns cost
# more to set up than the condition): a query it is put into may select from the same tables
# (an _include reads search_reference), which would otherwise be correlated.
_RESULT_RELEASE = RELEASE.alias("result_release_of_result")
_DOCUMENT_RELEASE = RELEASE.alias("result_release_of_document")
_REPORT_RELEASE = RELEASE.alias("result_release_of_report")
_SECURITY_CONTEXT = REF.alias("security_context_reference")
_LISTING, _LISTING_REPORT = REF.alias("listing_reference"), RESOURCE.alias("listing_report")
_RELATED, _CONTEXT_RELATED = REF.alias("related_reference"), REF.alias("context_related_reference")
_RELATED_RELEASE = RELEASE.alias("result_release_of_related_report")
_CONTEXT_RELATED_RELEASE = RELEASE.alias("result_release_of_context_related_report")
_CONTEXT_DOCUMENT = RESOURCE.alias("security_context_document")


def _released(
    resource_type: str, resource_id: Any, release: FromClause = _RESULT_RELEASE
) -> ColumnElement[bool]:
    """One primary-key lookup per candidate row."""
    return exists().where(
        release.c.resource_type == resource_type,
        release.c.resource_id == resource_id,
        release.c.state == RELEASED,
    )


def _through_released_document(binary: FromClause) -> ColumnElement[bool]:
    """A Binary (a report's PDF) whose security context is a released DocumentReference
    (binary.html)."""
    context, document = _SECURITY_CONTEXT, _CONTEXT_DOCUMENT
    documents = index.referred(binary.c.pk, "securitycontext", "DocumentReference", context)
    return documents.where(
        _released("DocumentReference", context.c.target_id, _DOCUMENT_RELEASE),
        document.c.resource_type == "DocumentReference",
        document.c.id == context.c.target_id,
        ~_related_to_unreleased_report(document.c.pk, _CONTEXT_RELATED, _CONTEXT_RELATED_RELEASE),
    ).exists()


def _related_to_unreleased_report(
    document_pk: Any, related: FromClause, release: FromClause
) -> ColumnElement[bool]:
    """A report's PDF (a DocumentReference naming the report in context.related) waits for
    the report: its rule, review or hold covers the PDF, as it covers its Observations."""
    reports = index.referred(document_pk, "related", "DiagnosticReport", related)
    return reports.where(~_released("DiagnosticReport", related.c.target_id, release)).exists()


def _listed_by_unreleased_report(result: FromClause) -> ColumnElement[bool]:
    listing, report = _LISTING, _LISTING_REPORT
    reports = index.referring("DiagnosticReport", ("result",), "Observation", result.c.id, listing)
    return reports.where(
        report.c.pk == listing.c.resource_pk,
        ~_released("DiagnosticReport", report.c.id, _REPORT_RELEASE),
    ).exists()


def _claimed(session: Connection, query: Select[Any]) -> list[Any]:
    """The rows this job run takes: on PostgreSQL two workers take different ones (SQLite
    has one writer at a time)."""
    if session.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).all())


def release_due(session: Connection, now: datetime, batch: int) -> int:
    """Releases up to batch results whose delay has passed; returns how many."""
    query = (
        select(REL.resource_type, REL.resource_id)
        .where(REL.state == WAITING, REL.due_at.is_not(None), REL.due_at <= now)
        .order_by(REL.due_at)
        .limit(batch)
    )
    rows = _claimed(session, query)
    for row in rows:
        release_now(session, row.resource_type, row.resource_id, "policy")
    return len(rows)


def notify_released(
    session: Connection, notifier: Notifier, registry: Registry, now: datetime, batch: int
) -> int:
    """Tells patients of up to batch released reports and documents (the notice carries no
    result content), each told once: the notice and the record of it commit together, with
    a released report's result-released event for its hospital's subscriptions."""
    query = (
        select(REL.resource_type, REL.resource_id, REL.patient_id)
        .where(REL.notified.is_(False), REL.state == RELEASED)
        .order_by(REL.released_at)
        .limit(batch)
    )
    rows = _claimed(session, query)
    for row in rows:
        about = f"{row.resource_type}/{row.resource_id}"
        locale = recipient_locale(session, row.patient_id)
        text = texts.text(locale, texts.RESULT_RELEASED)
        written = partial(texts.text, message=texts.RESULT_RELEASED)
        notice = Notice(row.patient_id, "result-released", text, about, TAGS[locale], written)
        notifier.send(session, notice, now)
        registry.emit(session, TopicEvent("result-released", row.resource_type, row.resource_id))
        session.execute(
            update(RELEASE)
            .where(REL.resource_type == row.resource_type, REL.resource_id == row.resource_id)
            .values(notified=True)
        )
    return len(rows)


def release_results(
    notifier: Notifier, registry: Registry, session: Connection, now: datetime
) -> int:
    """The release-results job: releases what is due, then tells patients (and hospitals'
    subscriptions) what was released. Returns the larger count, so a full batch of either
    runs the job again at once."""
    released = release_due(session, now, BATCH)
    return max(released, notify_released(session, notifier, registry, now, BATCH))
