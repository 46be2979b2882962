"""What every result must say before it is stored: a DiagnosticReport or Observation has a
status, a category, a code and a patient; once final it says when it was taken and when it
was issued; and its quantities are in UCUM. A violation is 422 naming the element, with every
violation found (stale_pushes.py refuses a result going back). The other sealed types
(ServiceRequest, Specimen, DocumentReference, Binary) name their patient, whose key seals them."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from medsvc.errors import Outcome, Unprocessable
from medsvc.fhir import Sealer, WriteEvent, references
from medsvc.results import at_rest
from medsvc.security.context import AuthContext

UCUM = "http://unitsofmeasure.org"
RESULT_TYPES = ("DiagnosticReport", "Observation")
# The other sealed types, which name their Patient (see at_rest.patient_of).
NAMING_THEIR_PATIENT = frozenset({"ServiceRequest", "Specimen", "DocumentReference", "Binary"})
FINISHED = frozenset({"final", "amended", "corrected", "appended"})


def _quantities(resource: dict[str, Any], where: str) -> list[tuple[dict[str, Any], str]]:
    """The Quantity values of an Observation (or of its components) and their locations."""
    found = []
    if isinstance(resource.get("valueQuantity"), dict):
        found.append((resource["valueQuantity"], f"{where}.valueQuantity"))
    for n, reference_range in enumerate(resource.get("referenceRange") or []):
        for bound in ("low", "high"):
            if isinstance(reference_range, dict) and isinstance(reference_range.get(bound), dict):
                found.append((reference_range[bound], f"{where}.referenceRange[{n}].{bound}"))
    for n, component in enumerate(resource.get("component") or []):
        if isinstance(component, dict):
            found += _quantities(component, f"{where}.component[{n}]")
    return found


def _check_patient(resource: dict[str, Any], element: str, base_url: str, outcome: Outcome) -> None:
    kind = resource["resourceType"]
    reference = resource.get(element)
    value = reference.get("reference") if isinstance(reference, dict) else None
    target = references.local_target(value, base_url)
    if target is None or target.type != "Patient":
        outcome.add(
            f"The {kind} needs a {element} that is a Patient", "required", f"{kind}.{element}"
        )


def _check_content(resource: dict[str, Any], base_url: str, outcome: Outcome) -> None:
    kind = resource["resourceType"]
    if not resource.get("category"):
        outcome.add(f"The {kind} needs a category", "required", f"{kind}.category")
    _check_patient(resource, "subject", base_url, outcome)
    if resource.get("status") in FINISHED:
        if not any(key.startswith("effective") for key in resource):
            outcome.add(
                f"The {kind} is {resource['status']}: it needs effective[x], when it was taken",
                "required",
                f"{kind}.effective[x]",
            )
        if not resource.get("issued"):
            outcome.add(
                f"The {kind} is {resource['status']}: it needs issued, when it was released",
                "required",
                f"{kind}.issued",
            )
    for quantity, where in _quantities(resource, kind) if kind == "Observation" else []:
        if "value" in quantity and (quantity.get("system") != UCUM or not quantity.get("code")):
            outcome.add(
                "A measured value has a UCUM unit (system and code)", "value", f"{where}.system"
            )


@dataclass(frozen=True)
class Essentials:
    """The before-write hooks on the sealed types, reading references as the index does."""

    base_url: str
    sealer: Sealer | None  # opens the DocumentReference a Binary names

    def check_result(self, _session: Connection, _ctx: AuthContext, event: WriteEvent) -> None:
        """On RESULT_TYPES: what a result must say."""
        if event.resource is not None:
            outcome = Outcome()
            _check_content(event.resource, self.base_url, outcome)
            outcome.raise_if_errors(Unprocessable)

    def check_patient_named(
        self, session: Connection, _ctx: AuthContext, event: WriteEvent
    ) -> None:
        """On NAMING_THEIR_PATIENT: the patient whose key seals it."""
        if event.resource is not None:
            at_rest.patient_of(
                session, self.sealer, event.resource_type, event.resource, self.base_url
            )
