"""The registry's write hooks: each write runs its own type's hooks, in registration order,
and the real app's hooks run in the order its installers declare."""

from typing import cast

import pytest
from sqlalchemy import Connection

from medsvc.assembly import fhir_server
from medsvc.fhir.registry import ALL_TYPES, AfterWrite, BeforeWrite, Registry, WriteEvent
from medsvc.fhir.store import Stored
from medsvc.security.context import OPEN_CONTEXT, AuthContext
from tests.conftest import make_settings

SESSION = cast(Connection, None)  # the hooks here touch no database
STORED = cast(Stored, None)


class Calls:
    """Hooks that note, in one list, which of them ran on which type."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def before(self, name: str) -> BeforeWrite:
        def hook(_session: Connection, _ctx: AuthContext, event: WriteEvent) -> None:
            self.made.append(f"{name} {event.resource_type}")

        return hook

    def after(self, name: str) -> AfterWrite:
        def hook(_session: Connection, _ctx: AuthContext, event: WriteEvent, _s: Stored) -> None:
            self.made.append(f"{name} {event.resource_type}")

        return hook


def write(registry: Registry, resource_type: str) -> None:
    event = WriteEvent("create", resource_type, {"resourceType": resource_type}, None)
    registry.run_before_write(SESSION, OPEN_CONTEXT, event)
    registry.run_after_write(SESSION, OPEN_CONTEXT, event, STORED)


def test_a_hook_runs_for_its_types_only() -> None:
    registry, calls = Registry(), Calls()
    registry.on_write(["Slot", "Schedule"], before=calls.before("slot"), after=calls.after("slot"))
    registry.on_write(["Appointment"], before=calls.before("appointment"))
    for resource_type in ("Slot", "Appointment", "Schedule", "Patient"):
        write(registry, resource_type)
    made = ["slot Slot", "slot Slot", "appointment Appointment", "slot Schedule", "slot Schedule"]
    assert calls.made == made


def test_every_type_and_one_type_run_in_registration_order() -> None:
    registry, calls = Registry(), Calls()
    registry.on_write(ALL_TYPES, before=calls.before("policy"))
    registry.on_write(["Slot"], before=calls.before("slot"))
    registry.on_write(ALL_TYPES, before=calls.before("last"), after=calls.after("outbox"))
    registry.on_write(["Appointment"], before=calls.before("appointment"))
    for resource_type in ("Slot", "Appointment", "Patient"):
        write(registry, resource_type)
    assert calls.made == [
        "policy Slot",
        "slot Slot",
        "last Slot",
        "outbox Slot",
        "policy Appointment",
        "last Appointment",
        "appointment Appointment",
        "outbox Appointment",
        "policy Patient",
        "last Patient",
        "outbox Patient",
    ]


def check(_session: Connection, _ctx: AuthContext, _event: WriteEvent) -> None:
    pass


class Ledger:
    def after_write(
        self, _session: Connection, _ctx: AuthContext, _event: WriteEvent, _stored: Stored
    ) -> None:
        pass


def test_the_listing_names_each_phase_in_order() -> None:
    registry = Registry()
    registry.on_write(["Slot"], after=Ledger().after_write)
    registry.on_write(ALL_TYPES, before=check)
    assert registry.write_hooks("Slot") == [
        ("before", f"{__name__}.check"),
        ("after", f"{__name__}.Ledger.after_write"),
    ]
    assert registry.write_hooks("Appointment") == [("before", f"{__name__}.check")]
    assert Registry().write_hooks("Slot") == []


def test_types_must_be_a_collection_and_a_hook_given() -> None:
    registry = Registry()
    with pytest.raises(TypeError, match="collection"):
        registry.on_write("Slot", before=Calls().before("slot"))
    with pytest.raises(TypeError, match="before hook"):
        registry.on_write(["Slot"])


POLICY_BEFORE = [
    ("before", "medsvc.access.write_policy.before_write"),
    ("before", "medsvc.access.rules.AccessRules.before_write"),
]
POLICY_AFTER = ("after", "medsvc.access.rules.AccessRules.after_write")
RESULT = [
    *POLICY_BEFORE,
    ("before", "medsvc.access.authorship.Authorship.before_write"),
    ("before", "medsvc.results.stale_pushes.before_write"),
    ("before", "medsvc.results.essentials.Essentials.check_result"),
    POLICY_AFTER,
    ("after", "medsvc.results.release.ReleasePolicy.after_write"),
]
DECLARED = {
    "Appointment": [
        *POLICY_BEFORE,
        ("before", "medsvc.access.self_care.before_write"),
        ("before", "medsvc.scheduling.rules.BookingRules.before_write"),
        POLICY_AFTER,
        ("after", "medsvc.scheduling.booking.BookingLedger.after_write"),
        ("after", "medsvc.scheduling.changes.HospitalChanges.after_write"),
        ("after", "medsvc.subscriptions.outbox.Outbox.record_events"),
    ],
    "Slot": [
        *POLICY_BEFORE,
        ("before", "medsvc.scheduling.slots.before_write"),
        POLICY_AFTER,
        ("after", "medsvc.scheduling.slots.after_write"),
        ("after", "medsvc.subscriptions.outbox.Outbox.record_events"),
    ],
    "DiagnosticReport": RESULT,
    "Observation": RESULT,
    "Binary": [
        *POLICY_BEFORE,
        ("before", "medsvc.access.binaries.BinaryPlacement.before_write"),
        ("before", "medsvc.results.essentials.Essentials.check_patient_named"),
        ("before", "medsvc.results.binaries.BinaryRules.before_write"),
        POLICY_AFTER,
    ],
    "CareTeam": [
        *POLICY_BEFORE,
        ("before", "medsvc.access.care_team.before_write"),
        POLICY_AFTER,
        ("after", "medsvc.access.care_team.after_write"),
    ],
    "Subscription": [
        *POLICY_BEFORE,
        ("before", "medsvc.subscriptions.channel.SubscriptionRules.before_write"),
        POLICY_AFTER,
        ("after", "medsvc.subscriptions.outbox.keep_state"),
    ],
    "Patient": [*POLICY_BEFORE, POLICY_AFTER],
}


@pytest.fixture(scope="module")
def app_registry() -> Registry:
    return fhir_server(make_settings("sqlite://", 8080)).registry


@pytest.mark.parametrize("resource_type", sorted(DECLARED))
def test_the_app_runs_the_policy_first_then_the_domains(
    app_registry: Registry, resource_type: str
) -> None:
    assert app_registry.write_hooks(resource_type) == DECLARED[resource_type]
