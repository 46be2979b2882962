"""The notifier: every sender in turn, inside the caller's transaction; the log sender writes no
PHI; the Communication sender files a valid Communication in the patient's compartment."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Connection

from medsvc.assembly import fhir_server
from medsvc.kit.requestlog import KeyValueFormatter
from medsvc.notify.communications import CommunicationSender
from medsvc.notify.notifier import LogSender, Notice, Notifier
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
TEXT = "Reminder: you have an appointment on Tuesday 1 December 2026 at 09:00."


class Recording:
    """A sender that keeps what it was given."""

    def __init__(self, name: str, calls: list[tuple[str, Notice, datetime]]):
        self.name, self.calls = name, calls

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        self.calls.append((self.name, notice, now))


class Refusing:
    """A sender whose channel is down."""

    def send(self, session: Connection, notice: Notice, now: datetime) -> None:
        raise RuntimeError("channel down")


@pytest.fixture
def notify_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, hearing medsvc.notify once: the app's logging may stop at "medsvc" (no
    propagation to the root logger caplog listens on), so its handler goes on the logger
    itself, which stops propagating meanwhile."""
    logger = logging.getLogger("medsvc.notify")
    caplog.set_level(logging.INFO, logger="medsvc.notify")
    logger.addHandler(caplog.handler)
    propagated, logger.propagate = logger.propagate, False
    yield caplog
    logger.propagate = propagated
    logger.removeHandler(caplog.handler)


def notify_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The lines medsvc.notify wrote, as the app's formatter writes them."""
    return [KeyValueFormatter().format(r) for r in caplog.records if r.name == "medsvc.notify"]


def add_patient(client: httpx.Client) -> str:
    response = client.post("/Patient", json=patient(), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_notice_goes_through_every_sender_in_order(clean: Backend) -> None:
    calls: list[tuple[str, Notice, datetime]] = []
    notice = Notice("p1", "appointment-reminder", TEXT, "Appointment/a1")
    notifier = Notifier([Recording("first", calls), Recording("second", calls)])
    with clean.database.session(write=True) as session:
        notifier.send(session, notice, NOW)
    assert calls == [("first", notice, NOW), ("second", notice, NOW)]


def test_a_failing_sender_fails_the_send(clean: Backend) -> None:
    calls: list[tuple[str, Notice, datetime]] = []
    notifier = Notifier([Recording("before", calls), Refusing(), Recording("after", calls)])
    with pytest.raises(RuntimeError, match="channel down"), clean.database.session(write=True) as s:
        notifier.send(s, Notice("p1", "appointment-reminder", TEXT, None), NOW)
    assert [name for name, _, _ in calls] == ["before"]


def test_the_log_line_names_the_topic_and_reference_only(
    clean: Backend, notify_log: pytest.LogCaptureFixture
) -> None:
    notice = Notice("patient-4711", "appointment-reminder", TEXT, "Appointment/a-42")
    with clean.database.session(write=True) as session:
        LogSender().send(session, notice, NOW)
    [line] = notify_lines(notify_log)
    assert "topic=appointment-reminder" in line
    assert "about=Appointment/a-42" in line
    assert "patient-4711" not in line
    assert "Reminder" not in line
    assert "December" not in line


def test_a_communication_records_the_notice_for_the_patient(
    client: httpx.Client, clean: Backend
) -> None:
    patient_id = add_patient(client)
    other = add_patient(client)
    sender = CommunicationSender(fhir_server(clean.settings))
    with clean.database.session(write=True) as session:
        sender.send(
            session, Notice(patient_id, "appointment-reminder", TEXT, "Appointment/a1"), NOW
        )
    found = client.get("/Communication", params={"subject": f"Patient/{patient_id}"}).json()
    [entry] = found["entry"]
    sent = entry["resource"]
    assert sent["status"] == "completed"
    assert sent["category"][0]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "reminder",
        }
    ]
    assert sent["subject"] == {"reference": f"Patient/{patient_id}"}
    assert sent["recipient"] == [{"reference": f"Patient/{patient_id}"}]
    assert sent["about"] == [{"reference": "Appointment/a1"}]
    assert sent["sent"] == "2026-11-30T09:00:00.000Z"
    assert sent["payload"] == [{"contentString": TEXT}]
    assert "language" not in sent  # the notice did not say
    by_patient = client.get("/Communication", params={"patient": patient_id}).json()
    assert [e["resource"]["id"] for e in by_patient["entry"]] == [sent["id"]]
    assert client.get("/Communication", params={"subject": f"Patient/{other}"}).json()["total"] == 0


@pytest.mark.parametrize(("language", "text"), [("zh-CN", "您有新消息。"), ("en", "News.")])
def test_a_communication_says_the_language_of_its_text(
    client: httpx.Client, clean: Backend, language: str, text: str
) -> None:
    patient_id = add_patient(client)
    sender = CommunicationSender(fhir_server(clean.settings))
    with clean.database.session(write=True) as session:
        sender.send(session, Notice(patient_id, "service-news", text, None, language), NOW)
    [entry] = client.get("/Communication", params={"subject": f"Patient/{patient_id}"}).json()[
        "entry"
    ]
    assert entry["resource"]["language"] == language
    assert entry["resource"]["payload"] == [{"contentString": text}]


def test_a_notice_about_nothing_in_particular_is_a_notification(
    client: httpx.Client, clean: Backend
) -> None:
    patient_id = add_patient(client)
    sender = CommunicationSender(fhir_server(clean.settings))
    with clean.database.session(write=True) as session:
        sender.send(session, Notice(patient_id, "service-news", "The clinic has moved.", None), NOW)
    [entry] = client.get("/Communication", params={"recipient": f"Patient/{patient_id}"}).json()[
        "entry"
    ]
    assert "about" not in entry["resource"]
    assert entry["resource"]["category"][0]["coding"][0]["code"] == "notification"
    assert entry["resource"]["topic"]["coding"][0]["code"] == "service-news"


def test_a_communication_is_undone_with_the_transaction_that_failed(
    client: httpx.Client, clean: Backend
) -> None:
    patient_id = add_patient(client)
    notifier = Notifier([CommunicationSender(fhir_server(clean.settings)), Refusing()])
    with pytest.raises(RuntimeError), clean.database.session(write=True) as session:
        notifier.send(session, Notice(patient_id, "appointment-reminder", TEXT, None), NOW)
    assert client.get("/Communication", params={"_summary": "count"}).json()["total"] == 0
