"""Alembic environment: the URL comes from Settings unless the caller set one."""

from alembic import context
from sqlalchemy import create_engine, pool

import medsvc.access.tables
import medsvc.audit.tables
import medsvc.crypto.tables
import medsvc.fhir.tables
import medsvc.notify.webhook
import medsvc.results.tables
import medsvc.scheduling.tables
import medsvc.security.tables
import medsvc.subscriptions.tables  # noqa: F401
from medsvc.config import get_settings
from medsvc.db import metadata

config = context.config


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_offline() -> None:
    context.configure(
        url=database_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
