import httpx

from tests.conftest import Backend
from tests.identity.conftest import Gatewayed, sign_up


def test_smoke(phone: httpx.Client, clean: Backend, gatewayed: Gatewayed) -> None:
    done = sign_up(phone, clean, gatewayed)
    assert done.status_code == 302, done.text
    back = phone.get(done.headers["location"])
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/app/"
