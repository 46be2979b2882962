"""Whom a signed-in person may act for besides themselves, as the access policy answers it
(access/proxies.py, installed by create_app): the authorization server asks through this
protocol when it shows SMART's patient picker and when it refreshes a proxy's tokens."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

from medsvc.security.tables import Account


@dataclass(frozen=True)
class Acting:
    """Whom a grant acts for: the patient, and the proxy relationship that allows it."""

    patient_id: str
    proxy_id: str


@dataclass(frozen=True)
class Choice:
    acting: Acting
    name: str  # as the picker shows the person


class ActingFor(Protocol):
    def choices(self, connection: Connection, account: Account, now: datetime) -> list[Choice]:
        """The other people the account's person may act for now (not themselves)."""
        ...

    def allows(
        self, connection: Connection, account: Account, acting: Acting, now: datetime
    ) -> bool:
        """The proxy relationship still lets the account's person act for the patient."""
        ...


class NoOne:
    """Nobody acts for anyone: what a server without the access policy's proxies answers."""

    def choices(self, connection: Connection, account: Account, now: datetime) -> list[Choice]:
        return []

    def allows(
        self, connection: Connection, account: Account, acting: Acting, now: datetime
    ) -> bool:
        return False
