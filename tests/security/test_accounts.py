"""Accounts: one username each (compared case-insensitively), the right link per role."""

import pytest
from sqlalchemy import select

from medsvc import clock
from medsvc.security.accounts import InvalidAccount, add_account, find_account
from medsvc.security.tables import Account
from tests.conftest import Backend

PASSWORD = "a long enough passphrase"


def test_add_and_find(clean: Backend) -> None:
    with clean.database.session(write=True) as connection:
        made = add_account(
            connection,
            clock.now(),
            role="patient",
            username="Aino.Virtanen",
            password=PASSWORD,
            fhir_user="Patient/p1",
        )
    with clean.database.session(write=False) as connection:
        found = find_account(connection, "aino.virtanen")
        assert found is not None
        assert (found.id, found.role, found.fhir_user) == (made, "patient", "Patient/p1")
        assert found.password_hash.startswith("$argon2id$")
        assert PASSWORD not in found.password_hash


@pytest.mark.parametrize(
    ("role", "username", "password", "link", "reason"),
    [
        ("patient", "u", PASSWORD, None, "linked to one Patient"),
        ("patient", "u", PASSWORD, "Practitioner/x", "linked to one Patient"),
        ("practitioner", "u", PASSWORD, "Patient/x", "linked to one Practitioner"),
        ("admin", "u", PASSWORD, "Patient/x", "linked to no FHIR resource"),
        ("nurse", "u", PASSWORD, None, "role must be"),
        ("admin", "u", "short", None, "12 to 256"),
        ("admin", "", PASSWORD, None, "1 to 128"),
    ],
)
def test_refused_accounts_write_nothing(
    clean: Backend, role: str, username: str, password: str, link: str | None, reason: str
) -> None:
    with pytest.raises(InvalidAccount, match=reason), clean.database.session(write=True) as c:
        add_account(c, clock.now(), role=role, username=username, password=password, fhir_user=link)
    with clean.database.session(write=False) as connection:
        assert connection.execute(select(Account)).all() == []


def test_usernames_are_unique_regardless_of_case(clean: Backend) -> None:
    with clean.database.session(write=True) as connection:
        add_account(connection, clock.now(), role="admin", username="Operator", password=PASSWORD)
    with pytest.raises(InvalidAccount, match="taken"), clean.database.session(write=True) as c:
        add_account(c, clock.now(), role="admin", username="OPERATOR", password=PASSWORD)
