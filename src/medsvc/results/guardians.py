"""Results kept from a child's guardians by category from an age of the child, where local law
or a hospital's practice asks it (a teenager's sexual health results): a guardian acting for
the child reads no such result once the child is that age, nor what the result carries (a
report's Observations, its PDF and the PDF's Binary). The child and their clinicians still do.

MEDSVC_GUARDIAN_WITHHELD_RESULTS is a comma-separated list of `category=age`, the category a
code (any system) or `system|code` as in the release rules, the age in whole years (0: never
shown to a guardian): `urn:example:category|sexual-health=12,PRG=0`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, FromClause, and_, or_, select

from medsvc import clock
from medsvc.access.tables import Proxy
from medsvc.fhir import Definitions, index
from medsvc.fhir.datetimes import to_micros
from medsvc.fhir.index import DATE, REFERENCE, RESOURCE
from medsvc.results.release import VISIBLE_ONCE_RELEASED
from medsvc.security.context import AuthContext

PROXY = Proxy.__table__  # type: ignore[attr-defined]
GUARDIAN = "guardian"  # access.proxies.GUARDIAN, the kind of a parent's or guardian's proxy
CATEGORISED = ("DiagnosticReport", "Observation", "DocumentReference")
MAX_AGE = 18


class InvalidWithholding(ValueError):
    """MEDSVC_GUARDIAN_WITHHELD_RESULTS does not parse."""


def parse_withheld(text: str) -> dict[int, tuple[str, ...]]:
    """The categories withheld from guardians, grouped by the child's age they start at."""
    by_age: dict[int, list[str]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        category, _, age = item.rpartition("=")
        category, age = category.strip(), age.strip()
        if not category or category.endswith("|") or not age.isdigit() or int(age) > MAX_AGE:
            raise InvalidWithholding(
                f"{item!r}: expected category=age, the category a code or system|code, "
                f"the age 0 to {MAX_AGE}"
            )
        by_age.setdefault(int(age), []).append(category)
    return {age: tuple(categories) for age, categories in sorted(by_age.items())}


def _blinded(definitions: Definitions, resource_type: str, tokens: tuple[str, ...]) -> list[str]:
    """The tokens as the index holds the type's categories (blind index tokens when sealed)."""
    param = definitions.resources[resource_type].params["category"]
    return [param.blinder.query_value(t) if param.blinder else t for t in tokens]


@dataclass(frozen=True)
class GuardianWithholding:
    """The read filter that keeps withheld categories from a child's guardians."""

    by_type: dict[str, dict[int, list[str]]]  # resource type -> age -> index tokens
    timezone: ZoneInfo

    @classmethod
    def of(cls, text: str, definitions: Definitions, timezone: str) -> "GuardianWithholding":
        by_age = parse_withheld(text)
        by_type = {
            t: {age: _blinded(definitions, t, tokens) for age, tokens in by_age.items()}
            for t in CATEGORISED
        }
        return cls(by_type if by_age else {}, ZoneInfo(timezone))

    def read_filter(
        self, ctx: AuthContext, resource_type: str, resource: FromClause
    ) -> ColumnElement[bool] | None:
        if not self.by_type or not ctx.proxy or not ctx.patient:
            return None
        if resource_type not in VISIBLE_ONCE_RELEASED:
            return None
        ages = _AgesOf(ctx.proxy, ctx.patient.removeprefix("Patient/"), self._today())
        if resource_type == "Binary":
            return ~self._binary_withheld(ages, resource)
        if resource_type == "Observation":
            return ~self._observation_withheld(ages, resource)
        if resource_type == "DocumentReference":
            return ~self._document_withheld(ages, resource.c.pk)
        return ~self._withheld(ages, resource_type, resource.c.pk)

    def _today(self) -> date:
        return clock.now().astimezone(self.timezone).date()

    def _withheld(self, ages: "_AgesOf", resource_type: str, pk: Any) -> ColumnElement[bool]:
        """The result's own categories are withheld from this guardian at the child's age."""
        return or_(
            *(
                and_(ages.reached(age), index.has_token(pk, "category", tokens))
                for age, tokens in self.by_type[resource_type].items()
            )
        )

    def _observation_withheld(self, ages: "_AgesOf", result: FromClause) -> ColumnElement[bool]:
        """Its own category, or a report that lists it."""
        listing = REFERENCE.alias()
        reports = index.referring(
            "DiagnosticReport", ("result",), "Observation", result.c.id, listing
        )
        by_report = reports.where(self._withheld(ages, "DiagnosticReport", listing.c.resource_pk))
        return or_(self._withheld(ages, "Observation", result.c.pk), by_report.exists())

    def _document_withheld(self, ages: "_AgesOf", pk: Any) -> ColumnElement[bool]:
        """Its own category, or the report it is the PDF of (context.related)."""
        related, report = REFERENCE.alias(), RESOURCE.alias()
        reports = index.referred(pk, "related", "DiagnosticReport", related).where(
            report.c.resource_type == "DiagnosticReport",
            report.c.id == related.c.target_id,
            self._withheld(ages, "DiagnosticReport", report.c.pk),
        )
        return or_(self._withheld(ages, "DocumentReference", pk), reports.exists())

    def _binary_withheld(self, ages: "_AgesOf", binary: FromClause) -> ColumnElement[bool]:
        """A Binary whose security context is a withheld DocumentReference."""
        context, document = REFERENCE.alias(), RESOURCE.alias()
        documents = index.referred(binary.c.pk, "securitycontext", "DocumentReference", context)
        return documents.where(
            document.c.resource_type == "DocumentReference",
            document.c.id == context.c.target_id,
            self._document_withheld(ages, document.c.pk),
        ).exists()


@dataclass(frozen=True)
class _AgesOf:
    """Whether the caller acts as a guardian of a child who has reached an age."""

    proxy_id: str
    child_id: str
    today: date

    def reached(self, age: int) -> ColumnElement[bool]:
        if age == 0:
            return self._guardian()
        try:
            born_by = self.today.replace(year=self.today.year - age)
        except ValueError:  # today is 29 February: a child born on it is that age on 1 March
            born_by = date(self.today.year - age, 2, 28)
        return and_(self._guardian(), self._born_by(born_by))

    def _guardian(self) -> ColumnElement[bool]:
        proxy = PROXY.alias()
        query = select(proxy.c.id).where(proxy.c.id == self.proxy_id, proxy.c.kind == GUARDIAN)
        return query.exists()

    def _born_by(self, day: date) -> ColumnElement[bool]:
        """The child's Patient.birthDate begins on or before day (a full birth date, which a
        guardian's proxy needs, begins at its midnight: datetimes.py)."""
        born, child = DATE.alias(), RESOURCE.alias()
        midnight = to_micros(datetime.combine(day, time(), UTC))
        return (
            select(born.c.pk)
            .where(
                child.c.resource_type == "Patient",
                child.c.id == self.child_id,
                born.c.resource_pk == child.c.pk,
                born.c.param == "birthdate",
                born.c.low <= midnight,
            )
            .exists()
        )
