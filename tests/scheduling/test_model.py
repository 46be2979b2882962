"""A Hypothesis state machine drives find, hold, book, confirm, cancel, expire and the clock
against a simple model of seats and holds, and checks after every step that the service
(its answers, the ledger, the Slots' statuses, the Appointments) agrees with the model."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.errors import MedsvcError
from medsvc.fhir import jsonio
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.router import FhirRequest, dispatch
from medsvc.scheduling.holds import expire_holds
from medsvc.scheduling.ledger import LEDGER
from medsvc.security.context import AuthContext, platform_context
from tests.conftest import Backend
from tests.factories import patient, practitioner, schedule
from tests.scheduling.clinic import citizen_context, parameters, slot_resource

CAPACITIES = (1, 1, 2, 1)
PATIENTS = 3
HOLD = timedelta(minutes=10)
PER_SERVICE = 2
PLATFORM = platform_context("model")


@dataclass
class Booking:
    patient: int
    slot: int
    status: str  # pending, booked or cancelled
    hold_end: datetime | None = None


@dataclass
class Model:
    now: datetime
    bookings: dict[str, Booking] = field(default_factory=dict)

    def seats(self, slot: int) -> list[Booking]:
        """Seats taken in the ledger: bookings, and holds not yet released (ended or not)."""
        return [b for b in self.bookings.values() if b.slot == slot and b.status != "cancelled"]

    def active(self, booking: Booking) -> bool:
        return booking.status == "booked" or (
            booking.status == "pending"
            and booking.hold_end is not None
            and booking.hold_end > self.now
        )

    def refusal(self, patient: int, slot: int) -> int | None:
        """The citizen rules' answer (422) before any seat is looked at."""
        mine = [b for b in self.bookings.values() if b.patient == patient and self.active(b)]
        if any(b.slot == slot for b in mine):
            return 422  # overlapping: the same time
        if len(mine) >= PER_SERVICE:
            return 422
        return None

    def release_ended(self, slot: int | None = None) -> int:
        ended = [
            b
            for b in self.bookings.values()
            if b.status == "pending"
            and b.hold_end is not None
            and b.hold_end <= self.now
            and (slot is None or b.slot == slot)
        ]
        for booking in ended:
            booking.status = "cancelled"
        return len(ended)

    def shown(self, slot: int) -> str:
        seats = self.seats(slot)
        if len(seats) < CAPACITIES[slot]:
            return "free"
        return "busy-tentative" if any(b.status == "pending" for b in seats) else "busy"


class BookingMachine(RuleBasedStateMachine):
    backend: Backend

    def __init__(self) -> None:
        super().__init__()
        self.backend.reset()
        self.server = fhir_server(self.backend.settings)
        start = clock.now().replace(microsecond=0)
        self.model = Model(start)
        clock.set_source(lambda: self.model.now)
        doctor = self.create(practitioner())
        sched = self.create(schedule(f"Practitioner/{doctor}"))
        first = start + timedelta(days=3)
        self.slots = [
            self.create(slot_resource(sched, first + timedelta(hours=i), 30, capacity))
            for i, capacity in enumerate(CAPACITIES)
        ]
        self.patients = [self.create(patient(mrn=f"m{i}")) for i in range(PATIENTS)]
        self.window = (format_instant(first), format_instant(first + timedelta(days=1)))

    def create(self, resource: dict[str, Any]) -> str:
        result = self.call(PLATFORM, "POST", resource["resourceType"], resource)
        return str(result["id"])

    def call(self, ctx: AuthContext, method: str, path: str, body: Any = None) -> Any:
        with self.backend.database.session(write=method != "GET") as session:
            result = dispatch(self.server, session, ctx, FhirRequest(method, path, body=body))
        content = result.body if result.body is not None else result.stored.content  # type: ignore[union-attr]
        return jsonio.loads(content)

    def attempt(self, ctx: AuthContext, path: str, body: Any) -> tuple[int, Any]:
        try:
            return 200, self.call(ctx, "POST", path, body)
        except MedsvcError as error:
            return error.status, None

    def citizen(self, patient_index: int) -> AuthContext:
        return citizen_context(self.patients[patient_index])

    def take(self, patient_index: int, slot: int, operation: str) -> None:
        status, answer = self.attempt(
            self.citizen(patient_index),
            f"Appointment/${operation}",
            parameters(slot=f"Slot/{self.slots[slot]}"),
        )
        expected = self.model.refusal(patient_index, slot)
        if expected is None:
            full = len(self.model.seats(slot)) >= CAPACITIES[slot]
            expected = 409 if full and not self.model.release_ended(slot) else 200
        assert status == expected, (operation, status, expected)
        if status == 200:
            appointment = answer["entry"][0]["resource"]
            held = operation == "hold"
            self.model.bookings[appointment["id"]] = Booking(
                patient_index,
                slot,
                "pending" if held else "booked",
                self.model.now + HOLD if held else None,
            )

    @rule(patient=st.integers(0, PATIENTS - 1), slot=st.integers(0, len(CAPACITIES) - 1))
    def hold(self, patient: int, slot: int) -> None:
        self.take(patient, slot, "hold")

    @rule(patient=st.integers(0, PATIENTS - 1), slot=st.integers(0, len(CAPACITIES) - 1))
    def book(self, patient: int, slot: int) -> None:
        self.take(patient, slot, "book")

    @rule(pick=st.integers(0, 50))
    def confirm(self, pick: int) -> None:
        if not self.model.bookings:
            return
        appointment_id = sorted(self.model.bookings)[pick % len(self.model.bookings)]
        booking = self.model.bookings[appointment_id]
        status, _ = self.attempt(
            self.citizen(booking.patient),
            "Appointment/$book",
            parameters(appt_id=f"Appointment/{appointment_id}"),
        )
        if booking.status == "cancelled":
            assert status == 409  # a cancelled appointment is not booked again
            return
        assert status == 200
        booking.status, booking.hold_end = "booked", None

    @rule(pick=st.integers(0, 50))
    def cancel(self, pick: int) -> None:
        if not self.model.bookings:
            return
        appointment_id = sorted(self.model.bookings)[pick % len(self.model.bookings)]
        booking = self.model.bookings[appointment_id]
        status, _ = self.attempt(
            self.citizen(booking.patient), f"Appointment/{appointment_id}/$cancel", parameters()
        )
        assert status == 200
        booking.status = "cancelled"

    @rule()
    def expire(self) -> None:
        with self.backend.database.session(write=True) as session:
            released = expire_holds(self.server, session, self.model.now)
        assert released == self.model.release_ended()

    @rule(minutes=st.integers(1, 12))
    def wait(self, minutes: int) -> None:
        self.model.now += timedelta(minutes=minutes)

    @rule(patient=st.integers(0, PATIENTS - 1))
    def find(self, patient: int) -> None:
        start, end = self.window
        found = self.call(
            self.citizen(patient),
            "POST",
            "Appointment/$find",
            parameters(start=start, end=end),
        )
        offered = {e["resource"]["slot"][0]["reference"] for e in found.get("entry", [])}
        free = {
            f"Slot/{self.slots[i]}"
            for i in range(len(CAPACITIES))
            if len(self.model.seats(i)) < CAPACITIES[i]
        }
        assert offered == free

    @invariant()
    def service_agrees_with_model(self) -> None:
        with self.backend.database.session(write=False) as session:
            taken = {r.slot_id: r.taken for r in session.execute(select(LEDGER))}
        for i, slot_id in enumerate(self.slots):
            assert taken[slot_id] == len(self.model.seats(i))
            assert self.call(PLATFORM, "GET", f"Slot/{slot_id}")["status"] == self.model.shown(i)
        for appointment_id, booking in self.model.bookings.items():
            stored = self.call(PLATFORM, "GET", f"Appointment/{appointment_id}")
            assert stored["status"] == booking.status


@pytest.mark.usefixtures("client")
def test_booking_agrees_with_its_model(clean: Backend) -> None:
    BookingMachine.backend = clean
    runner = BookingMachine.TestCase
    runner.settings = settings(
        max_examples=12,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    try:
        runner().runTest()
    finally:
        clock.reset()
