"""Verification providers as a city would plug them in (MEDSVC_IDENTITY_PROVIDER names them):
one that vouches for everything, one that matches nothing, one that confirms no family, and
one whose service is down."""

from medsvc.identity.documents import Document
from medsvc.identity.verification import DOCUMENT_VERIFIED, FORMAT_CHECKED, Verdict


class Vouching:
    """Vouches for every name and document, and every family relationship."""

    name = "test-vouching"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=True, level=DOCUMENT_VERIFIED, provider=self.name)

    def relationship(self, parent: Document, child: Document, child_name: str, code: str) -> bool:
        return True


class Refusing:
    name = "test-refusing"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=False, level=FORMAT_CHECKED, provider=self.name)


class NoHousehold:
    """Vouches for people, and confirms no family relationship."""

    name = "test-no-household"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=True, level=DOCUMENT_VERIFIED, provider=self.name)

    def relationship(self, parent: Document, child: Document, child_name: str, code: str) -> bool:
        return False


class Failing:
    """A provider whose remote service is down."""

    name = "test-failing"

    def verify(self, name: str, document: Document) -> Verdict:
        raise TimeoutError("the verification service did not answer")


def not_a_provider() -> object:
    return object()


class FailingHousehold:
    """Vouches for people; its household register is down."""

    name = "test-failing-household"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=True, level=DOCUMENT_VERIFIED, provider=self.name)

    def relationship(self, parent: Document, child: Document, child_name: str, code: str) -> bool:
        raise TimeoutError("the household register did not answer")
