"""The settings of identity refused at start-up, naming the setting: a provider that cannot be
loaded, and one-time codes written to the log anywhere but a local trial."""

import logging
from datetime import UTC, datetime

import pytest

from medsvc.app import create_app
from medsvc.config import ConfigurationError
from medsvc.notify.phone_messages import PhoneSender
from medsvc.security.context import local_trial_refusal
from tests.conftest import Backend, make_settings


@pytest.mark.parametrize(
    "spec",
    [
        "no_such_module:Provider",
        "tests.identity.providers:NoSuchClass",
        "tests.identity.providers",
        ":Vouching",
        "tests.identity.providers:not_a_provider",
    ],
)
def test_a_provider_that_cannot_be_loaded_stops_the_start(clean: Backend, spec: str) -> None:
    settings = make_settings(clean.url, 8000, identity_provider=spec)
    with pytest.raises(ConfigurationError, match="MEDSVC_IDENTITY_PROVIDER"):
        create_app(settings, clean.database)


def test_a_city_s_provider_is_loaded_by_its_name(clean: Backend) -> None:
    settings = make_settings(clean.url, 8000, identity_provider="tests.identity.providers:Vouching")
    assert create_app(settings, clean.database).state.sign_up.provider.name == "test-vouching"


@pytest.mark.parametrize(
    ("overrides", "host", "refused"),
    [
        ({}, "127.0.0.1", None),
        ({}, "0.0.0.0", "loopback"),
        ({"notify_webhook_url": "https://sms.example/hook"}, "127.0.0.1", "without a gateway"),
        ({"database_url": "postgresql+psycopg://x@127.0.0.1/medsvc"}, "127.0.0.1", "SQLite"),
    ],
)
def test_codes_in_the_log_are_for_a_local_trial_only(
    overrides: dict[str, str], host: str, refused: str | None
) -> None:
    url = overrides.pop("database_url", "sqlite:///var/medsvc.db")
    settings = make_settings(url, 8000, phone_codes_to_log=True, **overrides)
    refusal = local_trial_refusal(settings, host)
    if refused is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert "MEDSVC_PHONE_CODES_TO_LOG" in refusal
        assert refused in refusal


def test_a_trial_s_code_is_in_the_log_and_nowhere_else(caplog: pytest.LogCaptureFixture) -> None:
    sender = PhoneSender(gateway=False, to_log=True)
    with caplog.at_level(logging.WARNING, logger="medsvc.notify"):
        sender.send(None, "+8613800138000", "sign-up", "code 123456", datetime.now(UTC))  # type: ignore[arg-type]
    [record] = caplog.records
    assert record.fields == {"topic": "sign-up", "to": "…8000", "text": "code 123456"}  # type: ignore[attr-defined]


def test_without_gateway_or_trial_no_code_can_be_sent() -> None:
    assert PhoneSender(gateway=False, to_log=False).available is False
    assert PhoneSender(gateway=True, to_log=False).available is True
