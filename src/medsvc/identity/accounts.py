"""A citizen's account made from a proved identity, in one unit of work: the Patient found or
made, the account, the identity's keyed hashes and sealed copy, and the audit record. One
identity, one account: the unique keys decide between two sign-ups at once."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlmodel import col

from medsvc.audit import trail as audit_trail
from medsvc.audit.events import Access
from medsvc.clock import utc
from medsvc.crypto import data_keys, envelope
from medsvc.crypto.blind_index import BlindIndex
from medsvc.crypto.keyring import KeyEncryptionKeys
from medsvc.fhir import FhirServer, new_id
from medsvc.identity import patients, verification
from medsvc.identity.documents import Document
from medsvc.identity.tables import AccountIdentity
from medsvc.security import accounts
from medsvc.security.context import AuthContext
from medsvc.security.tables import Account

IDENTITY_TAKEN = "identity-taken"  # the document already has an account
PHONE_TAKEN = "phone-taken"  # the number already signs in to an account
RECORD_DIFFERS = "record-differs"  # a hospital's record of the document names someone else
NOT_MATCHED = "not-matched"  # the provider says name and document do not belong together


class SignUpRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Keys:
    """What identity keeps its secrets with: the blind index and the patients' data keys."""

    index: BlindIndex
    keyring: KeyEncryptionKeys

    def document(self, document: Document) -> str:
        return self.index.token("identity-document", document.key)

    def phone(self, number: str) -> str:
        return self.index.token("identity-phone", number)


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    patient_id: str
    patient_made: bool  # no hospital had registered the document


def _refuse_taken(session: Connection, keys: Keys, applicant: patients.Applicant) -> None:
    held = col(AccountIdentity.document_key) == keys.document(applicant.document)
    if session.execute(select(col(AccountIdentity.account_id)).where(held)).first():
        raise SignUpRefused(IDENTITY_TAKEN)
    number = col(AccountIdentity.phone_key) == keys.phone(applicant.phone)
    if session.execute(select(col(AccountIdentity.account_id)).where(number)).first():
        raise SignUpRefused(PHONE_TAKEN)
    if accounts.find_account(session, applicant.phone) is not None:
        raise SignUpRefused(PHONE_TAKEN)


def _linked_already(session: Connection, patient_id: str) -> bool:
    linked = col(Account.fhir_user) == f"Patient/{patient_id}"
    return session.execute(select(col(Account.id)).where(linked)).first() is not None


def _sealed_document(
    session: Connection,
    keys: Keys,
    patient_id: str,
    account_id: str,
    document: Document,
    now: datetime,
) -> bytes:
    key = data_keys.key_for_sealing(session, keys.keyring, patient_id, now)
    context = {"table": "account_identity", "account": account_id}
    return envelope.seal(key, document.key.encode(), context)


def create(
    session: Connection,
    server: FhirServer,
    keys: Keys,
    applicant: patients.Applicant,
    password_hash: str,
    verdict: verification.Verdict,
    resident_system: str,
    now: datetime,
) -> NewAccount:
    """Raises SignUpRefused; the caller rolls back on any error, so nothing of a refused
    sign-up is stored. The password was checked and hashed before (insert_account)."""
    if not verdict.matched:
        raise SignUpRefused(NOT_MATCHED)
    _refuse_taken(session, keys, applicant)
    system = patients.identifier_system(applicant.document, resident_system)
    try:
        patient_id, made = patients.patient_for(server, session, applicant, verdict.level, system)
    except patients.RecordDiffers:
        raise SignUpRefused(RECORD_DIFFERS) from None
    if _linked_already(session, patient_id):  # an account an operator made before
        raise SignUpRefused(IDENTITY_TAKEN)
    account_id = accounts.insert_account(
        session,
        now,
        role="patient",
        username=applicant.phone,
        password_hash=password_hash,
        fhir_user=f"Patient/{patient_id}",
    )
    session.execute(
        insert(AccountIdentity).values(
            account_id=account_id,
            patient_id=patient_id,
            document_kind=applicant.document.kind,
            document_key=keys.document(applicant.document),
            sealed_document=_sealed_document(
                session, keys, patient_id, account_id, applicant.document, now
            ),
            phone_key=keys.phone(applicant.phone),
            assurance=verdict.level,
            provider=verdict.provider,
            verified_at=now,
        )
    )
    return NewAccount(account_id, patient_id, made)


def record_sign_up(
    session: Connection, server: FhirServer, made: NewAccount, client_id: str, address: str | None
) -> None:
    """The audit record of the sign-up, in its transaction: the person, through the app,
    made their account (and their Patient, when no hospital had registered them)."""
    person = AuthContext(subject=made.account_id, client_id=client_id)
    access = Access(
        interaction="create" if made.patient_made else "update",
        status=201,
        request_id=new_id(),
        client_address=address,
        resource_type="Patient",
        resource_id=made.patient_id,
        patients={made.patient_id},
        ctx=person,
        account=made.account_id,
        action="sign-up",
    )
    audit_trail.append(session, server, [access])


def record_account_change(
    session: Connection,
    server: FhirServer,
    account: Account,
    action: str,
    client_id: str,
    address: str | None,
) -> None:
    """The audit record of what a person did to their own account (a new password), in its
    transaction."""
    person = AuthContext(subject=account.id, client_id=client_id)
    patient = (account.fhir_user or "").removeprefix("Patient/")
    access = Access(
        interaction="update",
        status=200,
        request_id=new_id(),
        client_address=address,
        patients={patient} if patient else set(),
        ctx=person,
        account=account.id,
        action=action,
    )
    audit_trail.append(session, server, [access])


def proved_identity(session: Connection, account_id: str) -> dict[str, str] | None:
    """What an operator sees of the identity an account proved: the kind of document, the
    level of assurance, who decided it and when; never the document or the number."""
    row = session.execute(
        select(AccountIdentity).where(col(AccountIdentity.account_id) == account_id)
    ).first()
    if row is None:
        return None
    return {
        "document": row.document_kind,
        "assurance": row.assurance,
        "provider": row.provider,
        "verified_at": utc(row.verified_at).isoformat(),
    }


def proved_document(session: Connection, keys: Keys, account_id: str) -> Document | None:
    """The document an account proved, opened from its sealed copy (for a relationship a
    provider confirms); None for an account made without one (by an operator)."""
    row = session.execute(
        select(AccountIdentity).where(col(AccountIdentity.account_id) == account_id)
    ).first()
    if row is None:
        return None
    key = data_keys.key_for_opening(session, keys.keyring, row.patient_id)
    context = {"table": "account_identity", "account": account_id}
    kind, country, number = (
        envelope.open_sealed(key, bytes(row.sealed_document), context).decode().split(":", 2)
    )
    return Document(kind, number, country)
