"""A parent becomes their child's proxy with the child's resident identity number, when the
city's verification provider confirms the relationship (Patient/$proxy-child): the child's
Patient is the one hospitals registered with that number, or made now from the number. Each
parent asks the provider a bounded number of times an hour (a number guessed is a question
the city may pay for)."""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from medsvc import clock
from medsvc.access import proxies
from medsvc.errors import (
    Forbidden,
    Invalid,
    Issue,
    TooManyRequests,
    Unavailable,
    Unprocessable,
    operation_outcome,
)
from medsvc.fhir import Definitions, Operation, OperationCall, Result, jsonio, read_inputs
from medsvc.identity import accounts, documents, patients, quotas, verification
from medsvc.identity.signup import SignUp, name_of
from medsvc.security import scopes
from medsvc.security.context import AuthContext

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ProxyChild:
    service: SignUp

    def _parent(self, session: Connection, ctx: AuthContext) -> tuple[str, documents.Document]:
        if ctx.unrestricted or ctx.role != "patient" or ctx.proxy or not ctx.patient:
            raise Forbidden("Only a citizen acting for themselves becomes their child's proxy")
        scopes.require(ctx, "RelatedPerson", "create")
        document = accounts.proved_document(session, self.service.keys, ctx.subject)
        if document is None:
            raise Forbidden("A real-name account (signed up with an identity document) is needed")
        return ctx.patient.removeprefix("Patient/"), document

    def _child(self, call: OperationCall) -> tuple[str, documents.Document, str]:
        inputs = read_inputs(call)
        name, number, relationship = (inputs.one(n) for n in ("name", "number", "relationship"))
        if not all(isinstance(v, str) for v in (name, number, relationship)):
            raise Invalid("$proxy-child takes the child's name and number, and the relationship")
        checked_name = name_of(str(name))
        if checked_name is None:
            raise Invalid("name is not a name", expression="name")
        today = clock.now().astimezone(ZoneInfo(self.service.settings.timezone)).date()
        try:
            child = documents.resident_number(str(number), today)
        except documents.BadDocument as bad:
            raise Invalid(f"number: {bad}", expression="number") from None
        if str(relationship) not in proxies.RELATIONSHIPS[proxies.GUARDIAN]:
            codes = ", ".join(proxies.RELATIONSHIPS[proxies.GUARDIAN])
            raise Invalid(f"relationship is one of {codes}", expression="relationship")
        return checked_name, child, str(relationship)

    def __call__(self, call: OperationCall) -> Result:
        parent_id, parent = self._parent(call.session, call.ctx)
        name, child, relationship = self._child(call)
        provider = verification.confirms_relationships(self.service.provider)
        if provider is None:
            raise Unprocessable(
                "The city's verification service does not confirm family relationships here: "
                "a hospital's service desk records a parent as their child's proxy"
            )
        self._within_quota(call.session, parent_id)
        try:
            confirmed = provider.relationship(parent, child, name, relationship)
        except Exception:  # the city's code: whatever it raises, nothing is made now
            raise Unavailable(
                "The verification service could not answer; try again later"
            ) from None
        if not confirmed:  # answered, not raised: the question asked stays counted
            refused = Issue("The verification service does not confirm the relationship")
            return Result(422, body=jsonio.dumps(operation_outcome([refused])))
        return self._made(call, parent_id, name, child, relationship)

    def _within_quota(self, session: Connection, parent_id: str) -> None:
        limit = self.service.settings.codes_per_identity_per_hour
        wait = quotas.take(session, f"asker:proxy-child:{parent_id}", limit, HOUR, clock.now())
        if wait is not None:
            raise TooManyRequests(
                "Too many children's numbers asked about", headers={"Retry-After": str(wait)}
            )

    def _made(
        self,
        call: OperationCall,
        parent_id: str,
        name: str,
        child: documents.Document,
        relationship: str,
    ) -> Result:
        system = self.service.settings.resident_id_system
        applicant = patients.Applicant(name, child, "", "zh-CN")
        try:
            child_id, _ = patients.patient_for(
                call.server, call.session, applicant, verification.DOCUMENT_VERIFIED, system
            )
        except patients.RecordDiffers:
            raise Unprocessable("A hospital registered that number with another name") from None
        proposal = proxies.NewProxy(child_id, parent_id, relationship, proxies.GUARDIAN, "provider")
        try:
            made = proxies.add(
                call.session,
                call.server,
                proposal,
                proxies.ChildAge.of(self.service.settings),
                clock.now(),
            )
        except proxies.ProxyRefused as refused:
            raise Unprocessable(str(refused)) from None
        reference = {"reference": f"RelatedPerson/{made.id}"}
        parameter = [{"name": "relatedPerson", "valueReference": reference}]
        return Result(
            200, body=jsonio.dumps({"resourceType": "Parameters", "parameter": parameter})
        )


def operation(definitions: Definitions, service: SignUp) -> Operation:
    return Operation(definitions.operation("Patient-proxy-child"), ProxyChild(service))
