"""Accounts made before usernames compared as E.164 numbers still sign in: the migration
renames a username that is a mobile number to its E.164 form, unless that form is taken."""

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from medsvc.kit import migrate
from tests.conftest import BACKENDS, Kept


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_number_usernames_become_e164_unless_taken(kept: Kept, backend_name: str) -> None:
    url = kept.database_url(backend_name)  # a database of its own, empty
    command.upgrade(migrate.alembic_config(url), "0010")
    engine = create_engine(url)
    made = [
        ("a", "13800138000"),
        ("b", "008613900139000"),
        ("c", "13700137000"),
        ("d", "+8613700137000"),
        ("e", "mei"),
    ]
    with engine.begin() as connection:
        for account_id, username in made:
            connection.execute(
                text(
                    "INSERT INTO account (id, username, role, password_hash, created) "
                    "VALUES (:id, :username, 'patient', 'x', '2026-01-01')"
                ),
                {"id": account_id, "username": username},
            )
    migrate.upgrade(url)
    with engine.connect() as connection:
        found = dict(connection.execute(text("SELECT id, username FROM account")).all())
    engine.dispose()
    assert found == {
        "a": "+8613800138000",
        "b": "+8613900139000",
        "c": "13700137000",  # its E.164 form belongs to another account
        "d": "+8613700137000",
        "e": "mei",
    }
