"""Sign-in throttling over real HTTP from distinct loopback addresses: a stranger's guesses
slow the stranger, never the owner signing in from elsewhere; one address trying many
usernames is slowed too; every wait is bounded and expires; the counts hold across processes."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from medsvc import clock
from medsvc.app import create_app
from medsvc.security.signin_throttle import FORGET_AFTER, forget_old_failures
from medsvc.security.tables import SignInThrottle
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.security.conftest import App

WRONG = "not the passphrase at all"
STRANGER = "127.0.0.2"
OWNER = "127.0.0.1"
LIMITS = {"signin_free_failures": 3, "signin_address_free_failures": 6}


@contextmanager
def server(backend: Backend, **settings: object) -> Iterator[str]:
    """Another process of the deployment (its own port and settings, the same database)."""
    port = free_port()
    values = {"token_requests_per_minute": 1_000_000, **LIMITS, **settings}
    app = create_app(make_settings(backend.url, port, **values), backend.database)
    with LiveServer(app, port) as live:
        yield live.url


def browser(url: str, address: str) -> httpx.Client:
    """A browser on its own address: the socket is bound to another loopback address."""
    transport = httpx.HTTPTransport(local_address=address)
    english = {"Accept-Language": "en"}  # the tests read the pages in English
    return httpx.Client(base_url=url, transport=transport, timeout=30, headers=english)


@pytest.fixture
def deployment(clean: Backend) -> Iterator[str]:
    with server(clean) as url:
        yield url


def person(http: httpx.Client, app: App) -> App:
    """The same registered app, driven from this browser against its server."""
    driven = App.__new__(App)
    fhir_base = str(http.base_url).rstrip("/") + "/fhir"
    driven.__dict__.update(app.__dict__, http=http, fhir_base=fhir_base)
    return driven


@pytest.fixture(autouse=True)
def frozen_clock(clean: Backend) -> None:
    """The clock stands still unless a test moves it, so that every wait is exact."""
    move_clock(timedelta(0))


@pytest.fixture
def app_at(deployment: str, app: App, citizen: str) -> Iterator[Callable[[str], App]]:
    opened: list[httpx.Client] = []

    def at(address: str) -> App:
        http = browser(deployment, address)
        opened.append(http)
        return person(http, app)

    yield at
    for http in opened:
        http.close()


def move_clock(by: timedelta) -> None:
    later = clock.now() + by
    clock.set_source(lambda: later)


def test_a_stranger_is_slowed_and_the_owner_elsewhere_is_not(app_at) -> None:
    stranger, owner = app_at(STRANGER), app_at(OWNER)
    for _ in range(3):  # the free failures
        assert stranger.sign_in("aino", password=WRONG).status_code == 200
    assert stranger.sign_in("aino", password=WRONG).status_code == 200  # the first wait: 1 s
    refused = stranger.sign_in("aino")  # even with the right password, the stranger waits
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) == 1
    assert "too many failed sign-ins" in refused.text
    assert "try again in 1 second" in refused.text
    assert owner.sign_in("aino").status_code == 302


def test_spellings_of_one_username_share_its_count(app_at) -> None:
    stranger, owner = app_at(STRANGER), app_at(OWNER)
    fullwidth = "\uff41\uff49\uff4e\uff4f"  # "aino" in fullwidth letters: the same after NFKC
    for spelling in ("aino", "AINO", " Aino ", fullwidth):
        assert stranger.sign_in(spelling, password=WRONG).status_code == 200
    assert stranger.sign_in("Aino").status_code == 429
    forwarded = {"X-Forwarded-For": OWNER, "X-Real-IP": OWNER, "Forwarded": f"for={OWNER}"}
    origin = {"Origin": str(stranger.http.base_url).rstrip("/")}
    assert stranger.sign_in("aino", headers={**origin, **forwarded}).status_code == 429
    assert owner.sign_in("AINO").status_code == 302


def test_an_unknown_username_is_throttled_like_a_known_one(app_at) -> None:
    one, other = app_at(STRANGER), app_at("127.0.0.3")
    for _ in range(4):
        one.sign_in("nobody", password=WRONG)
        other.sign_in("aino", password=WRONG)
    unknown, known = one.sign_in("nobody"), other.sign_in("aino")
    assert unknown.status_code == known.status_code == 429
    assert unknown.text == known.text


def test_one_address_trying_many_usernames_is_slowed(app_at) -> None:
    stuffing, owner = app_at(STRANGER), app_at(OWNER)
    for number in range(7):  # six free failures for the address, then it waits
        assert stuffing.sign_in(f"user{number}", password=WRONG).status_code == 200
    assert stuffing.sign_in("someone-new", password=WRONG).status_code == 429
    assert stuffing.sign_in("aino").status_code == 429  # its one real account too
    assert owner.sign_in("aino").status_code == 302
    move_clock(timedelta(seconds=2))
    assert stuffing.sign_in("aino").status_code == 302  # a success does not clear the address
    assert stuffing.sign_in("another", password=WRONG).status_code == 200
    assert stuffing.sign_in("aino").status_code == 429


def test_waits_double_up_to_the_bound_and_expire(app_at, clean: Backend) -> None:
    stranger = app_at(STRANGER)
    waits: list[int] = []
    while len(waits) < 12:
        answer = stranger.sign_in("aino", password=WRONG)
        if answer.status_code == 429:
            waits.append(int(answer.headers["retry-after"]))
            move_clock(timedelta(seconds=waits[-1]))
    assert waits[:4] == [1, 2, 4, 8]
    assert waits[-2:] == [900, 900]  # 15 minutes at most, however many failures came before
    with clean.database.session(write=False) as connection:
        for row in connection.execute(select(SignInThrottle)):
            assert row.locked_until is not None
            locked_for = clock.utc(row.locked_until) - clock.utc(row.last_failure)
            assert locked_for <= timedelta(minutes=15)
    assert stranger.sign_in("aino").status_code == 302  # the last wait has passed


def test_attempts_while_waiting_do_not_lengthen_the_wait(app_at) -> None:
    stranger = app_at(STRANGER)
    for _ in range(6):
        stranger.sign_in("aino", password=WRONG)
    first = int(stranger.sign_in("aino", password=WRONG).headers["retry-after"])
    for _ in range(20):
        assert stranger.sign_in("aino", password=WRONG).status_code == 429
    assert int(stranger.sign_in("aino").headers["retry-after"]) <= first
    move_clock(timedelta(seconds=first))
    assert stranger.sign_in("aino").status_code == 302


def test_the_wait_holds_across_processes(app_at, clean: Backend, app: App) -> None:
    stranger = app_at(STRANGER)
    for _ in range(5):
        stranger.sign_in("aino", password=WRONG)
    with server(clean) as other, browser(other, STRANGER) as http:
        elsewhere = person(http, app)
        assert elsewhere.sign_in("aino").status_code == 429


def test_the_bound_is_a_setting(clean: Backend, app: App, citizen: str) -> None:
    with server(clean, signin_max_wait_seconds=3) as url, browser(url, STRANGER) as http:
        stranger = person(http, app)
        for _ in range(12):
            stranger.sign_in("aino", password=WRONG)
            move_clock(timedelta(seconds=3))
        stranger.sign_in("aino", password=WRONG)
        assert int(stranger.sign_in("aino").headers["retry-after"]) == 3


def test_counts_are_forgotten_after_a_day(app_at, clean: Backend) -> None:
    stranger = app_at(STRANGER)
    for _ in range(4):
        stranger.sign_in("aino", password=WRONG)
    with clean.database.session(write=True) as connection:
        assert forget_old_failures(connection, clock.now()) == 0  # still counting
    move_clock(FORGET_AFTER + timedelta(seconds=1))
    with clean.database.session(write=True) as connection:
        assert forget_old_failures(connection, clock.now(), batch=1) == 1  # one batch at a time
        assert forget_old_failures(connection, clock.now()) == 1
        assert forget_old_failures(connection, clock.now()) == 0
    for _ in range(3):  # the free failures again: the count started afresh
        assert stranger.sign_in("aino", password=WRONG).status_code == 200
    assert stranger.sign_in("aino").status_code == 302


def test_guesses_sent_at_once_are_counted_one_after_the_other(app_at, clean: Backend) -> None:
    stranger = app_at(STRANGER)
    stranger.sign_in("aino", password=WRONG)  # the counts exist: each burst waits for its row
    forms = [stranger.form() for _ in range(8)]
    origin = {"Origin": str(stranger.http.base_url).rstrip("/")}
    answers: list[int] = []

    def guess(form: dict[str, str]) -> None:
        typed = {**form, "username": "aino", "password": WRONG}
        answers.append(
            stranger.http.post("/auth/authorize", data=typed, headers=origin).status_code
        )

    threads = [threading.Thread(target=guess, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] * 3 + [429] * 5  # three more failures, then the wait
    with clean.database.session(write=False) as connection:
        counted = select(SignInThrottle.failures).where(SignInThrottle.username == "aino")
        assert connection.execute(counted).scalar_one() == 4
