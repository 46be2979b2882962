"""Appointment reminders on both databases: planned 24 h and 2 h ahead, sent once when due
(also with two workers, and after a failed run), never for a cancelled appointment, saying
nothing clinical, in the patient's language and the city's time zone."""

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, select

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.db import Database
from medsvc.fhir.datetimes import format_instant
from medsvc.kit.requestlog import KeyValueFormatter
from medsvc.notify.communications import CommunicationSender
from medsvc.notify.notifier import LogSender, Notice, Notifier
from medsvc.scheduling.reminders import (
    REMINDER,
    cancel_reminders,
    plan_reminders,
    reminder_hours,
    send_due_reminders,
)
from medsvc.security.context import AuthContext
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
HOURS = (24.0, 2.0)
DAY_BEFORE, TWO_HOURS_BEFORE = START - timedelta(hours=24), START - timedelta(hours=2)
SECOND = timedelta(seconds=1)
# What the appointment says that a reminder must not: it is clinical, or it names people.
CLINICAL = ("Colonoscopy", "Gastroenterology", "bowel", "Korhonen", "Virtanen", "Aino")


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    """Writes happen three days before the appointments."""
    clock.set_source(lambda: START - timedelta(days=3))
    yield
    clock.reset()


def appointment(patient_id: str, start: datetime = START, **changes: Any) -> dict[str, Any]:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [
            {
                "coding": [{"system": "http://snomed.info/sct", "code": "73761001"}],
                "text": "Colonoscopy",
            }
        ],
        "specialty": [{"text": "Gastroenterology"}],
        "reasonCode": [{"text": "Blood in stool, suspected bowel disease"}],
        "start": format_instant(start),
        "end": format_instant(start + timedelta(minutes=30)),
        "participant": [
            {
                "actor": {"reference": f"Patient/{patient_id}", "display": "Aino Virtanen"},
                "status": "accepted",
            },
            {
                "actor": {"reference": "Practitioner/p1", "display": "Dr Korhonen"},
                "status": "accepted",
            },
            {
                "actor": {"reference": "Location/kallio", "display": "Kallio Health Centre"},
                "status": "accepted",
            },
        ],
        **changes,
    }


def book(
    client: httpx.Client, backend: Backend, start: datetime = START, **patient_extra: Any
) -> tuple[str, str]:
    """A new patient and their booked appointment, (patient id, appointment id), with no
    reminders yet: each test plans its own, whatever the booking hooks planned."""
    response = client.post("/Patient", json=patient(**patient_extra), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    patient_id = response.json()["id"]
    response = client.post("/Appointment", json=appointment(patient_id, start), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    appointment_id = response.json()["id"]
    with backend.database.session(write=True) as session:
        cancel_reminders(session, appointment_id)
    return patient_id, appointment_id


def plan(
    backend: Backend, patient_id: str, appointment_id: str, now: datetime, start: datetime = START
) -> None:
    with backend.database.session(write=True) as session:
        plan_reminders(session, appointment_id, patient_id, start, now, HOURS)


def notifier(backend: Backend) -> Notifier:
    return Notifier([CommunicationSender(fhir_server(backend.settings)), LogSender()])


def run(backend: Backend, now: datetime, zone: str = "UTC", using: Notifier | None = None) -> int:
    with backend.database.session(write=True) as session:
        return send_due_reminders(using or notifier(backend), zone, session, now)


def reminders(backend: Backend) -> list[tuple[str, datetime, datetime | None]]:
    """Every reminder row: (appointment id, due, sent), by due time."""
    query = select(REMINDER.c.appointment_id, REMINDER.c.due_at, REMINDER.c.sent_at)
    with backend.database.session(write=False) as session:
        rows = session.execute(query.order_by(REMINDER.c.due_at, REMINDER.c.appointment_id))
        return [(a, clock.utc(d), clock.utc(s) if s else None) for a, d, s in rows]


def communications(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    found = client.get("/Communication", params={"_count": "200", **params})
    assert found.status_code == 200, found.text
    return [entry["resource"] for entry in found.json().get("entry", [])]


def test_the_setting_gives_the_hours_largest_first() -> None:
    assert reminder_hours("24,2") == (24.0, 2.0)
    assert reminder_hours(" 2, 24 ,, 0.5,2") == (24.0, 2.0, 0.5)
    assert reminder_hours("") == ()
    for wrong in ("x", "0", "-1", "nan", "inf", "1e9"):
        with pytest.raises(ValueError, match="reminder_hours"):
            reminder_hours(wrong)


def test_reminders_are_planned_24_and_2_hours_before(client: httpx.Client, clean: Backend) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    planned = reminders(clean)
    assert planned == [
        (appointment_id, DAY_BEFORE, None),
        (appointment_id, TWO_HOURS_BEFORE, None),
    ]
    plan(clean, patient_id, appointment_id, START - timedelta(days=2))
    assert reminders(clean) == planned


def test_a_time_already_past_is_not_planned(client: httpx.Client, clean: Backend) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, DAY_BEFORE)  # its time is now: not ahead any more
    assert reminders(clean) == [(appointment_id, TWO_HOURS_BEFORE, None)]
    plan(clean, patient_id, appointment_id, START - timedelta(hours=1))
    assert reminders(clean) == []


def test_planning_again_replaces_what_is_unsent_and_keeps_what_was_sent(
    client: httpx.Client, clean: Backend
) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE) == 1
    later = START + timedelta(hours=3)  # the appointment was moved three hours later
    plan(clean, patient_id, appointment_id, DAY_BEFORE + SECOND, start=later)
    assert reminders(clean) == [
        (appointment_id, DAY_BEFORE, DAY_BEFORE),
        (appointment_id, later - timedelta(hours=24), None),
        (appointment_id, later - timedelta(hours=2), None),
    ]
    with clean.database.session(write=True) as session:
        cancel_reminders(session, appointment_id)
    assert reminders(clean) == [(appointment_id, DAY_BEFORE, DAY_BEFORE)]


def test_each_reminder_is_sent_once_when_due(client: httpx.Client, clean: Backend) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE - SECOND) == 0
    assert communications(client) == []
    assert run(clean, DAY_BEFORE) == 1
    assert run(clean, DAY_BEFORE) == 0
    assert run(clean, TWO_HOURS_BEFORE - SECOND) == 0
    assert len(communications(client)) == 1
    assert run(clean, TWO_HOURS_BEFORE + SECOND) == 1
    assert run(clean, START - SECOND) == 0
    sent = communications(client, subject=f"Patient/{patient_id}")
    assert len(sent) == 2
    assert {c["sent"] for c in sent} == {format_instant(DAY_BEFORE), "2026-12-01T07:00:01.000Z"}
    assert reminders(clean) == [
        (appointment_id, DAY_BEFORE, DAY_BEFORE),
        (appointment_id, TWO_HOURS_BEFORE, TWO_HOURS_BEFORE + SECOND),
    ]


def speaking(code: str) -> list[dict[str, Any]]:
    """A Patient.communication: the language the citizen chose in the app."""
    language = {"coding": [{"system": "urn:ietf:bcp:47", "code": code}]}
    return [{"language": language, "preferred": True}]


def test_the_message_says_when_and_where_and_nothing_clinical(
    client: httpx.Client, clean: Backend
) -> None:
    """In Chinese, the city's default, for a patient who has not said which language."""
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE, zone="Europe/Helsinki") == 1
    [sent] = communications(client, subject=f"Patient/{patient_id}")
    text = sent["payload"][0]["contentString"]
    assert text == (
        "提醒：您在2026年12月1日星期二 11:00（东欧标准时间）在Kallio Health Centre有预约。"
    )
    assert sent["language"] == "zh-CN"
    assert sent["about"] == [{"reference": f"Appointment/{appointment_id}"}]
    assert sent["category"][0]["coding"][0]["code"] == "reminder"
    assert sent["status"] == "completed"
    assert not [word for word in CLINICAL if word.lower() in str(sent).lower()]


@pytest.mark.parametrize(
    ("language", "zone", "text"),
    [
        (
            "en",
            "Europe/Helsinki",
            "Reminder: you have an appointment on Tuesday, December 1, 2026 at 11:00\u202fAM "
            "(Eastern European Standard Time) at Kallio Health Centre.",
        ),
        (
            "en-GB",
            "Asia/Shanghai",
            "Reminder: you have an appointment on Tuesday, December 1, 2026 at 5:00\u202fPM "
            "(China Standard Time) at Kallio Health Centre.",
        ),
        (
            "zh-CN",
            "Asia/Shanghai",
            "提醒：您在2026年12月1日星期二 17:00（中国标准时间）在Kallio Health Centre有预约。",
        ),
        (
            "zh",
            "Pacific/Honolulu",  # still the day before there
            "提醒：您在2026年11月30日星期一 23:00（夏威夷-阿留申标准时）"
            "在Kallio Health Centre有预约。",
        ),
    ],
)
def test_the_message_is_in_the_patients_language_and_the_citys_zone(
    client: httpx.Client, clean: Backend, language: str, zone: str, text: str
) -> None:
    patient_id, appointment_id = book(client, clean, communication=speaking(language))
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE, zone=zone) == 1
    [sent] = communications(client, subject=f"Patient/{patient_id}")
    assert sent["payload"] == [{"contentString": text}]
    assert sent["language"] == ("en" if language.startswith("en") else "zh-CN")
    assert not [word for word in CLINICAL if word.lower() in str(sent).lower()]


def test_each_patient_gets_their_own_language_in_one_run(
    client: httpx.Client, clean: Backend
) -> None:
    english = book(client, clean, communication=speaking("en"))
    chinese = book(client, clean)
    for patient_id, appointment_id in (english, chinese):
        plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE) == 2
    [to_english] = communications(client, subject=f"Patient/{english[0]}")
    [to_chinese] = communications(client, subject=f"Patient/{chinese[0]}")
    assert to_english["payload"][0]["contentString"].startswith("Reminder: ")
    assert to_chinese["payload"][0]["contentString"].startswith("提醒：")


def test_the_reminder_is_in_the_patients_compartment_only(
    client: httpx.Client, clean: Backend, acting_as: Callable[[AuthContext], httpx.Client]
) -> None:
    patient_id, appointment_id = book(client, clean)
    other_id, _ = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE) == 1

    def citizen(who: str) -> httpx.Client:
        scopes = frozenset({"patient/*.rs"})
        return acting_as(AuthContext(subject=who, patient=f"Patient/{who}", scopes=scopes))

    [mine] = communications(citizen(patient_id))
    assert mine["recipient"] == [{"reference": f"Patient/{patient_id}"}]
    assert communications(citizen(other_id)) == []


def test_the_log_line_holds_no_patient_data(
    client: httpx.Client, clean: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    # The app's "medsvc" logger stops propagation before the root logger caplog listens on:
    # its handler goes on the notifier's logger, which stops propagating meanwhile.
    logger = logging.getLogger("medsvc.notify")
    logger.addHandler(caplog.handler)
    propagated, logger.propagate = logger.propagate, False
    try:
        with caplog.at_level(logging.INFO, logger="medsvc.notify"):
            assert run(clean, DAY_BEFORE) == 1
    finally:
        logger.propagate = propagated
        logger.removeHandler(caplog.handler)
    [line] = [KeyValueFormatter().format(r) for r in caplog.records if r.name == "medsvc.notify"]
    assert "topic=appointment-reminder" in line
    assert f"about=Appointment/{appointment_id}" in line
    for private in (patient_id, "Reminder", "提醒", "December", "12月", "Kallio", *CLINICAL):
        assert private not in line


def test_a_cancelled_appointment_gets_no_reminder(client: httpx.Client, clean: Backend) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    cancelled = appointment(
        patient_id,
        id=appointment_id,
        status="cancelled",
        cancelationReason={"text": "Patient cancelled"},
    )
    response = client.put(f"/Appointment/{appointment_id}", json=cancelled, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert run(clean, DAY_BEFORE) == 0
    assert run(clean, TWO_HOURS_BEFORE) == 0
    assert communications(client) == []
    assert reminders(clean) == []


@pytest.mark.parametrize("change", ["cancelled", "entered-in-error", "deleted", "patient"])
def test_a_reminder_left_for_an_appointment_that_changed_is_dropped(
    client: httpx.Client, clean: Backend, change: str
) -> None:
    patient_id, appointment_id = book(client, clean)
    path = f"/Appointment/{appointment_id}"
    if change == "deleted":
        assert client.delete(path).status_code == 204
    else:
        other_id = book(client, clean)[0]
        changes = {"status": change} if change != "patient" else {}
        changed = appointment(other_id if change == "patient" else patient_id, **changes)
        response = client.put(path, json={**changed, "id": appointment_id}, headers=FHIR_JSON)
        assert response.status_code == 200, response.text
    # Planned after the change, as a reminder the hooks had not replaced would be.
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, DAY_BEFORE) == 0
    assert communications(client) == []
    assert [r for r in reminders(clean) if r[0] == appointment_id and r[1] == DAY_BEFORE] == []


def test_a_reminder_late_for_its_appointment_is_dropped(
    client: httpx.Client, clean: Backend
) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, START + SECOND) == 0  # the job was down until the appointment began
    assert communications(client) == []
    assert reminders(clean) == []


def test_when_both_are_due_only_the_later_is_sent(client: httpx.Client, clean: Backend) -> None:
    patient_id, appointment_id = book(client, clean)
    plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    assert run(clean, START - timedelta(hours=1)) == 1  # the job was down for a day
    assert len(communications(client)) == 1
    assert reminders(clean) == [(appointment_id, TWO_HOURS_BEFORE, START - timedelta(hours=1))]


class FailingAfter:
    """A sender whose channel fails after a number of notices."""

    def __init__(self, good: int):
        self.good = good

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        if self.good == 0:
            raise ConnectionError("the channel went down")
        self.good -= 1


def test_a_failed_run_sends_nothing_and_the_next_sends_each_once(
    client: httpx.Client, clean: Backend
) -> None:
    booked = [book(client, clean) for _ in range(3)]
    for patient_id, appointment_id in booked:
        plan(clean, patient_id, appointment_id, START - timedelta(days=3))
    failing = Notifier([CommunicationSender(fhir_server(clean.settings)), FailingAfter(2)])
    with pytest.raises(ConnectionError):
        run(clean, DAY_BEFORE, using=failing)
    assert communications(client) == []
    assert all(sent is None for _, _, sent in reminders(clean))
    restarted = Database(clean.settings)  # as a new process would
    try:
        with restarted.session(write=True) as session:
            assert send_due_reminders(notifier(clean), "UTC", session, DAY_BEFORE) == 3
        with restarted.session(write=True) as session:
            assert send_due_reminders(notifier(clean), "UTC", session, DAY_BEFORE) == 0
    finally:
        restarted.dispose()
    about = sorted(c["about"][0]["reference"] for c in communications(client))
    assert about == sorted(f"Appointment/{a}" for _, a in booked)


@pytest.fixture
def forty_due(client: httpx.Client, clean: Backend) -> list[str]:
    """Forty appointments, each with one reminder due a day before."""
    booked = [book(client, clean) for _ in range(40)]
    now = START - timedelta(days=3)
    with clean.database.session(write=True) as session:
        for patient_id, appointment_id in booked:
            plan_reminders(session, appointment_id, patient_id, START, now, (24,))
    return [appointment_id for _, appointment_id in booked]


def test_two_workers_send_each_reminder_once(
    client: httpx.Client, clean: Backend, forty_due: list[str]
) -> None:
    sent: list[int] = []
    failures: list[BaseException] = []
    start_together = threading.Barrier(2)

    def worker() -> None:
        try:
            start_together.wait()
            for _ in range(15):  # 2 x 15 runs of 3: room for all 40 however they interleave
                with clean.database.session(write=True) as session:
                    sent.append(
                        send_due_reminders(notifier(clean), "UTC", session, DAY_BEFORE, batch=3)
                    )
        except BaseException as error:  # a failure in a thread must fail the test
            failures.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sum(sent) == 40
    about = sorted(c["about"][0]["reference"] for c in communications(client))
    assert about == sorted(f"Appointment/{a}" for a in forty_due)
    assert [sent_at for _, _, sent_at in reminders(clean)] == [DAY_BEFORE] * 40
