"""One-time codes on a real database: spent once, 5 tries, 5 minutes, bound to their claim;
quotas exact under concurrency and shared by whoever uses the database."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from medsvc.crypto.blind_index import BlindIndex
from medsvc.identity import codes, quotas
from medsvc.identity.tables import CodeQuota, PhoneCode
from tests.conftest import Backend

INDEX = BlindIndex(b"k" * 32)
NOW = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
CLAIM = codes.Claim("sign-up", "phone-key", "王美\0resident:CHN:110105199003071239")
ROOMY = [codes.Quota("phone:phone-key", 1000)]


def issued(backend: Backend, claim: codes.Claim = CLAIM, now: datetime = NOW) -> tuple[str, str]:
    with backend.database.session(write=True) as session:
        return codes.issue(session, INDEX, claim, ROOMY, now)


def spend(
    backend: Backend, code_id: str, code: str, claim: codes.Claim = CLAIM, now: datetime = NOW
) -> bool:
    """As sign-up does: the code checked (a wrong try counted), then spent with the account."""
    with backend.database.session(write=True) as session:
        if not codes.check(session, INDEX, claim, code_id, code, now):
            return False
    with backend.database.session(write=True) as session:
        return codes.spend(session, INDEX, claim, code_id, code, now)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**codes.DIGITS:06d}"


def test_a_checked_code_stays_unspent_until_spent(clean: Backend) -> None:
    code_id, code = issued(clean)
    with clean.database.session(write=True) as session:
        assert codes.check(session, INDEX, CLAIM, code_id, code, NOW) is True
        assert codes.check(session, INDEX, CLAIM, code_id, code, NOW) is True
    with clean.database.session(write=True) as session:
        assert codes.spend(session, INDEX, CLAIM, code_id, code, NOW) is True
    with clean.database.session(write=True) as session:
        assert codes.check(session, INDEX, CLAIM, code_id, code, NOW) is False


def test_a_code_spent_in_a_unit_of_work_that_fails_stays_live(clean: Backend) -> None:
    code_id, code = issued(clean)

    def spend_then_fail() -> None:
        with clean.database.session(write=True) as session:
            assert codes.spend(session, INDEX, CLAIM, code_id, code, NOW) is True
            raise RuntimeError("the account could not be made")

    with pytest.raises(RuntimeError):
        spend_then_fail()
    assert spend(clean, code_id, code) is True


def test_a_code_is_six_digits_and_spent_once(clean: Backend) -> None:
    code_id, code = issued(clean)
    assert len(code) == 6
    assert code.isdigit()
    assert spend(clean, code_id, code) is True
    assert spend(clean, code_id, code) is False


def test_the_code_is_stored_only_as_a_keyed_hash(clean: Backend) -> None:
    _, code = issued(clean)
    with clean.database.session(write=False) as session:
        row = session.execute(select(PhoneCode)).one()
    assert code not in "".join(str(value) for value in row)


def test_five_wrong_tries_end_a_code(clean: Backend) -> None:
    code_id, code = issued(clean)
    for _ in range(codes.TRIES):
        assert spend(clean, code_id, wrong(code)) is False
    assert spend(clean, code_id, code) is False


def test_four_wrong_tries_leave_the_right_one(clean: Backend) -> None:
    code_id, code = issued(clean)
    for _ in range(codes.TRIES - 1):
        assert spend(clean, code_id, wrong(code)) is False
    assert spend(clean, code_id, code) is True


def test_a_code_lives_five_minutes(clean: Backend) -> None:
    code_id, code = issued(clean)
    assert spend(clean, code_id, code, now=NOW + codes.LIFETIME) is False
    code_id, code = issued(clean)
    assert spend(clean, code_id, code, now=NOW + codes.LIFETIME - timedelta(seconds=1)) is True


@pytest.mark.parametrize(
    "other",
    [
        codes.Claim("sign-in", CLAIM.phone_key, CLAIM.details),  # another purpose
        codes.Claim(CLAIM.purpose, "another-phone", CLAIM.details),  # another number
        codes.Claim(CLAIM.purpose, CLAIM.phone_key, "王美\0resident:CHN:110105198504120014"),
    ],
)
def test_a_code_proves_only_its_own_claim(clean: Backend, other: codes.Claim) -> None:
    code_id, code = issued(clean)
    assert spend(clean, code_id, code, claim=other) is False
    assert spend(clean, code_id, code) is True  # the failed try used one try, not the code


@pytest.mark.parametrize("code_id", ["", "unknown", "' OR '1'='1", "x" * 10_000])
def test_unknown_code_ids_prove_nothing(clean: Backend, code_id: str) -> None:
    issued(clean)
    assert spend(clean, code_id, "000000") is False


def test_a_quota_allows_its_count_in_a_window_then_says_how_long_to_wait(clean: Backend) -> None:
    limit, window = 5, codes.WINDOW
    with clean.database.session(write=True) as session:
        taken = [quotas.take(session, "phone:x", limit, window, NOW) for _ in range(limit)]
        refused = quotas.take(session, "phone:x", limit, window, NOW + timedelta(minutes=10))
        other_key = quotas.take(session, "phone:y", limit, window, NOW)
    assert taken == [None] * limit
    assert refused == 50 * 60
    assert other_key is None
    with clean.database.session(write=True) as session:
        assert quotas.take(session, "phone:x", limit, window, NOW + window) is None


def test_a_refused_code_takes_nothing_from_the_other_quotas(clean: Backend) -> None:
    spent = [codes.Quota("address:a", 10), codes.Quota("phone:p", 1)]
    with clean.database.session(write=True) as session:
        codes.issue(session, INDEX, CLAIM, spent, NOW)
    with pytest.raises(codes.TooManyCodes), clean.database.session(write=True) as session:
        codes.issue(session, INDEX, CLAIM, spent, NOW)
    with clean.database.session(write=False) as session:
        counts = dict(session.execute(select(CodeQuota.key, CodeQuota.count)).all())
    assert counts == {"address:a": 1, "phone:p": 1}


def test_a_quota_holds_under_concurrent_requests(clean: Backend) -> None:
    """20 requests for one number at once, each in its own transaction: exactly 5 codes."""
    limit, results, barrier = 5, [], threading.Barrier(20)
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        try:
            with clean.database.session(write=True) as session:
                codes.issue(session, INDEX, CLAIM, [codes.Quota("phone:busy", limit)], NOW)
            outcome = "sent"
        except codes.TooManyCodes:
            outcome = "refused"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count("sent") == limit
    assert results.count("refused") == 20 - limit
    with clean.database.session(write=False) as session:
        assert session.execute(select(func.count()).select_from(PhoneCode)).scalar() == limit


def test_a_code_spent_by_two_requests_at_once_serves_one(clean: Backend) -> None:
    code_id, code = issued(clean)
    results, barrier = [], threading.Barrier(8)

    def spend_it() -> None:
        barrier.wait()
        with clean.database.session(write=True) as session:
            results.append(codes.spend(session, INDEX, CLAIM, code_id, code, NOW))

    threads = [threading.Thread(target=spend_it) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1


def test_old_codes_and_ended_windows_are_forgotten(clean: Backend) -> None:
    issued(clean)
    with clean.database.session(write=True) as session:
        quotas.take(session, "phone:x", 5, codes.WINDOW, NOW)
        # the two quotas' windows: the code's own number, and "phone:x"
        assert codes.forget_old(session, NOW + timedelta(hours=1)) == 2
        assert codes.forget_old(session, NOW + codes.KEPT + codes.LIFETIME) == 1  # the code
        assert session.execute(select(func.count()).select_from(PhoneCode)).scalar() == 0


def test_every_check_uses_a_try_so_a_right_code_sent_again_is_bounded(clean: Backend) -> None:
    code_id, code = issued(clean)
    with clean.database.session(write=True) as session:
        checks = [codes.check(session, INDEX, CLAIM, code_id, code, NOW) for _ in range(6)]
    assert checks == [True] * codes.TRIES + [False]
