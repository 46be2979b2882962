"""Verification providers as a city would plug them in (MEDSVC_IDENTITY_PROVIDER names them):
one that vouches for every name and document, and one that matches none."""

from medsvc.identity.documents import Document
from medsvc.identity.verification import DOCUMENT_VERIFIED, FORMAT_CHECKED, Verdict


class Vouching:
    name = "test-vouching"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=True, level=DOCUMENT_VERIFIED, provider=self.name)


class Refusing:
    name = "test-refusing"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=False, level=FORMAT_CHECKED, provider=self.name)


class Failing:
    """A provider whose remote service is down."""

    name = "test-failing"

    def verify(self, name: str, document: Document) -> Verdict:
        raise TimeoutError("the verification service did not answer")


def not_a_provider() -> object:
    return object()
