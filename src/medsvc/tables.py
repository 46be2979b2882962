"""The schema: every package's tables module, gathered into the one metadata that the
migrations compare with the database and the tests empty between tests."""

from sqlalchemy import MetaData

from medsvc.access import tables as access_tables
from medsvc.audit import tables as audit_tables
from medsvc.crypto import tables as crypto_tables
from medsvc.db import metadata
from medsvc.fhir import tables as fhir_tables
from medsvc.identity import tables as identity_tables
from medsvc.notify import tables as notify_tables
from medsvc.results import tables as results_tables
from medsvc.scheduling import tables as scheduling_tables
from medsvc.security import tables as security_tables
from medsvc.subscriptions import tables as subscriptions_tables
from medsvc.web import tables as web_tables

TABLE_MODULES = (
    access_tables,
    audit_tables,
    crypto_tables,
    fhir_tables,
    identity_tables,
    notify_tables,
    results_tables,
    scheduling_tables,
    security_tables,
    subscriptions_tables,
    web_tables,
)


def all_tables() -> MetaData:
    """The metadata with the tables of every module of TABLE_MODULES declared in it."""
    return metadata
