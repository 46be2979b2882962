"""Sign-up as a service, free of HTTP: the details read and checked, a code sent to the number
within its quotas, the code spent, and the account made; each step one unit of work."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from medsvc.config import Settings
from medsvc.crypto import blind_index
from medsvc.crypto.keyring import FileKeyring
from medsvc.fhir import FhirServer
from medsvc.identity import accounts, codes, documents, verification
from medsvc.identity.patients import Applicant
from medsvc.notify import texts
from medsvc.notify.phone_messages import PhoneSender
from medsvc.security import phones

PURPOSE = "sign-up"
MAX_NAME = 64
LANGUAGES = {"zh_Hans_CN": "zh-CN", "en": "en"}  # the app's locales as BCP 47 tags


@dataclass(frozen=True)
class SignUp:
    server: FhirServer
    keys: accounts.Keys
    provider: verification.Provider
    phones: PhoneSender
    settings: Settings

    @classmethod
    def of(cls, server: FhirServer, settings: Settings) -> "SignUp":
        keys = accounts.Keys(
            blind_index.load_or_create(settings.kek_directory),
            FileKeyring(settings.kek_directory),
        )
        phone_sender = PhoneSender(bool(settings.notify_webhook_url), settings.phone_codes_to_log)
        provider = verification.load(settings.identity_provider)
        return cls(server, keys, provider, phone_sender, settings)

    def claim(self, applicant: Applicant) -> codes.Claim:
        """The code's claim: the number, and the name and document typed with it."""
        details = f"{applicant.name}\0{applicant.document.key}"
        return codes.Claim(PURPOSE, self.keys.phone(applicant.phone), details)

    def quotas(self, applicant: Applicant, address: str) -> list[codes.Quota]:
        s = self.settings
        return [
            codes.Quota(
                f"phone:{PURPOSE}:{self.keys.phone(applicant.phone)}", s.codes_per_phone_per_hour
            ),
            codes.Quota(
                f"identity:{self.keys.document(applicant.document)}", s.codes_per_identity_per_hour
            ),
            codes.Quota(f"address:{address}", s.codes_per_address_per_hour),
        ]

    def send_code(
        self, session: Connection, applicant: Applicant, address: str, locale: str, now: datetime
    ) -> str:
        """The code's id; the code itself goes only to the number. Raises TooManyCodes."""
        quotas = self.quotas(applicant, address)
        code_id, code = codes.issue(session, self.keys.index, self.claim(applicant), quotas, now)
        minutes = str(int(codes.LIFETIME.total_seconds() // 60))
        text = texts.text(locale, texts.PHONE_CODE, code=code, minutes=minutes)
        self.phones.send(session, applicant.phone, PURPOSE, text, now)
        return code_id


def name_of(typed: str) -> str | None:
    """A person's name as typed, spaces made one, or None when it cannot be a name."""
    name = " ".join(documents.normalised_spacing(typed).split())
    if not 0 < len(name) <= MAX_NAME or not name.isprintable():
        return None
    return name


def applicant_from(form: dict[str, str], locale: str, today: date) -> Applicant | dict[str, str]:
    """The applicant the form describes, or the problem of each field that is wrong."""
    problems, name = {}, name_of(form.get("name", ""))
    if name is None:
        problems["name"] = "name"
    try:
        document = documents.parse(
            form.get("kind", ""), form.get("number", ""), form.get("country", ""), today
        )
    except documents.BadDocument:
        problems["number"] = "document"
    try:
        phone = phones.e164(form.get("phone", ""))
    except phones.BadPhone:
        problems["phone"] = "phone"
    if problems or name is None:
        return problems
    return Applicant(name, document, phone, LANGUAGES.get(locale, "zh-CN"))
