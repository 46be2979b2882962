"""The access policy's answer to the authorization server about proxies (security/acting.py):
whom a signed-in citizen may act for besides themselves, and whether a proxy a grant rests
on still allows it."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from medsvc.access import proxies
from medsvc.fhir import jsonio, read_current
from medsvc.security.acting import Acting, Choice
from medsvc.security.tables import Account


def _patient_of(account: Account) -> str | None:
    fhir_user = account.fhir_user or ""
    return fhir_user.removeprefix("Patient/") if fhir_user.startswith("Patient/") else None


def display_name(patient: dict[str, Any]) -> str:
    """A Patient's name as the picker shows it: its text, else family and given joined the
    way the name's language writes them (no space between Chinese names' parts)."""
    for name in patient.get("name") or []:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        parts = [name.get("family") or "", *(name.get("given") or [])]
        words = [p for p in parts if isinstance(p, str) and p]
        if words:
            ascii_only = all(w.isascii() for w in words)
            return " ".join(words[1:] + words[:1]) if ascii_only else "".join(words)
    return ""


class ProxiesActingFor:
    def choices(self, connection: Connection, account: Account, now: datetime) -> list[Choice]:
        patient_id = _patient_of(account)
        if patient_id is None or account.role != "patient":
            return []
        found = []
        for proxy in proxies.live_for(connection, patient_id, now):
            current = read_current(connection, None, "Patient", proxy.patient_id)
            if current is None or current.content is None:
                continue  # the patient's record was erased
            name = display_name(jsonio.loads_stored(current.content))
            found.append(Choice(Acting(proxy.patient_id, proxy.id), name))
        return found

    def allows(
        self, connection: Connection, account: Account, acting: Acting, now: datetime
    ) -> bool:
        patient_id = _patient_of(account)
        if patient_id is None:
            return False
        return any(
            p.id == acting.proxy_id and p.patient_id == acting.patient_id
            for p in proxies.live_for(connection, patient_id, now)
        )
