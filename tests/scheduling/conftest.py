"""What the scheduling tests share with the security tests (a server that demands tokens,
citizens, apps, and apps whose callers act under a chosen context), and a clinic."""

import httpx
import pytest

from tests.scheduling.clinic import Clinic, open_clinic
from tests.security.conftest import acting_as, app, citizen, fhir_base, http

__all__ = ["acting_as", "app", "citizen", "fhir_base", "http"]


@pytest.fixture
def clinic(client: httpx.Client) -> Clinic:
    """A hospital with one doctor's schedule, and no slots yet."""
    return open_clinic(client)
