"""An adult's consent to be acted for, by a code to their own phone: Patient/$proxy-invite
sends the code (naming who asks) to the verified number of the other adult's account, and
Patient/$proxy-accept makes the proxy when the asker gives the code the adult told them."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from medsvc import clock
from medsvc.access import proxies
from medsvc.access.acting import display_name
from medsvc.errors import (
    Forbidden,
    Invalid,
    Issue,
    TooManyRequests,
    Unavailable,
    operation_outcome,
)
from medsvc.fhir import (
    Definitions,
    Operation,
    OperationCall,
    Result,
    jsonio,
    read_current,
    read_inputs,
)
from medsvc.identity import codes, phone_signin
from medsvc.identity.signup import SignUp
from medsvc.notify import language, texts
from medsvc.security import phones, scopes
from medsvc.security.accounts import find_account
from medsvc.security.context import AuthContext

PURPOSE = "proxy-consent"
RELATIONSHIPS = proxies.RELATIONSHIPS[proxies.CONSENTED]


def asker(ctx: AuthContext) -> str:
    """The asker's Patient id: a citizen acting for themselves (never through a proxy),
    through an app granted to make RelatedPersons (SMART scopes: a sign-in-only token is no
    such app)."""
    if ctx.unrestricted or ctx.role != "patient" or ctx.proxy or not ctx.patient:
        raise Forbidden("Only a citizen acting for themselves asks to act for another adult")
    scopes.require(ctx, "RelatedPerson", "create")
    return ctx.patient.removeprefix("Patient/")


def _string(inputs: Any, name: str) -> str:
    value = inputs.one(name)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"${PURPOSE}: the parameter {name} is required", expression=name)
    return value.strip()


@dataclass(frozen=True)
class Asked:
    asker: str  # Patient id
    phone: str  # E.164
    relationship: str


def _asked(call: OperationCall) -> Asked:
    asker_id, inputs = asker(call.ctx), read_inputs(call)
    try:
        phone = phones.e164(_string(inputs, "phone"))
    except phones.BadPhone:
        raise Invalid("phone is not a mobile number", expression="phone") from None
    relationship = _string(inputs, "relationship")
    if relationship not in RELATIONSHIPS:
        raise Invalid(
            f"relationship is one of {', '.join(RELATIONSHIPS)}", expression="relationship"
        )
    return Asked(asker_id, phone, relationship)


def _adult(session: Connection, phone: str) -> str | None:
    """The Patient of the citizen's account the number belongs to."""
    account = find_account(session, phone)
    if not phone_signin.may_sign_in_so(account) or account is None:
        return None
    return (account.fhir_user or "").removeprefix("Patient/") or None


def _name(session: Connection, patient_id: str) -> str:
    current = read_current(session, None, "Patient", patient_id)
    return display_name(jsonio.loads_stored(current.content)) if current and current.content else ""


@dataclass(frozen=True)
class ProxyConsent:
    service: SignUp

    def claim(self, asked: Asked) -> codes.Claim:
        details = f"{asked.asker}\0{asked.relationship}"
        return codes.Claim(PURPOSE, self.service.keys.phone(asked.phone), details)

    def invite(self, call: OperationCall) -> Result:
        asked, now = _asked(call), clock.now()
        if not self.service.phones.available:
            raise Unavailable("No code can be sent to phones here at the moment")
        limits = [
            codes.Quota(
                f"phone:{PURPOSE}:{self.service.keys.phone(asked.phone)}",
                self.service.settings.codes_per_phone_per_hour,
            ),
            codes.Quota(f"asker:{asked.asker}", self.service.settings.codes_per_phone_per_hour),
        ]
        try:
            code_id, code = codes.issue(
                call.session, self.service.keys.index, self.claim(asked), limits, now
            )
        except codes.TooManyCodes as many:
            wait = {"Retry-After": str(many.seconds)}
            raise TooManyRequests("Too many codes asked for", headers=wait) from None
        adult = _adult(call.session, asked.phone)
        if adult is not None and adult != asked.asker:
            minutes = str(int(codes.LIFETIME.total_seconds() // 60))
            name = _name(call.session, asked.asker) or "?"
            locale = language.recipient_locale(call.session, adult)
            text = texts.text(locale, texts.PROXY_CONSENT, name=name, code=code, minutes=minutes)
            self.service.phones.send(call.session, asked.phone, PURPOSE, text, now)
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "request", "valueString": code_id}],
        }
        return Result(200, body=jsonio.dumps(body))

    def accept(self, call: OperationCall) -> Result:
        asked, now = _asked(call), clock.now()
        inputs = read_inputs(call)
        code_id, code = _string(inputs, "request"), _string(inputs, "code")
        index = self.service.keys.index
        adult = _adult(call.session, asked.phone)
        if (
            not codes.check(call.session, index, self.claim(asked), code_id, code, now)
            or adult is None
        ):
            wrong = Issue("The code is wrong or has expired", "invalid", expression=("code",))
            return Result(422, body=jsonio.dumps(operation_outcome([wrong])))
        if not codes.spend(call.session, index, self.claim(asked), code_id, code, now):
            raise Invalid("The code was used meanwhile")
        proposal = proxies.NewProxy(
            adult, asked.asker, asked.relationship, proxies.CONSENTED, "consent"
        )
        try:
            child_age = proxies.ChildAge.of(self.service.settings)
            made = proxies.add(call.session, call.server, proposal, child_age, now)
        except proxies.ProxyRefused as refused:
            raise Invalid(str(refused)) from None
        reference = {"reference": f"RelatedPerson/{made.id}"}
        body = {
            "resourceType": "Parameters",
            "parameter": [{"name": "relatedPerson", "valueReference": reference}],
        }
        return Result(200, body=jsonio.dumps(body))


def operations(definitions: Definitions, service: SignUp) -> list[Operation]:
    consent = ProxyConsent(service)
    return [
        Operation(definitions.operation("Patient-proxy-invite"), consent.invite),
        Operation(definitions.operation("Patient-proxy-accept"), consent.accept),
    ]
