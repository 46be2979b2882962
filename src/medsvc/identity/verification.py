"""Whether a name and an identity document belong together: the provider interface a city
plugs its verification service into (a government or bank service), the default that checks
the document's format only and says so, and the levels of assurance an account records."""

import importlib
from dataclasses import dataclass
from typing import Protocol

from medsvc.identity.documents import Document

# Levels of assurance, lowest first (docs/identity.md). Each account records the one reached.
FORMAT_CHECKED = "format-checked"  # the document's number is well formed; nobody vouched
DOCUMENT_VERIFIED = "document-verified"  # a provider confirmed the name holds the document
IN_PERSON = "in-person"  # a hospital or an operator saw the person and the document
LEVELS = (FORMAT_CHECKED, DOCUMENT_VERIFIED, IN_PERSON)


@dataclass(frozen=True)
class Verdict:
    matched: bool  # False: the provider says name and document do not belong together
    level: str  # one of LEVELS when matched
    provider: str  # the provider's name, recorded with the account


class Provider(Protocol):
    name: str

    def verify(self, name: str, document: Document) -> Verdict: ...


class RelationshipProvider(Protocol):
    """A provider that can also confirm a family relationship (a household register): a
    parent signs up as their child's proxy with the child's document. Optional: without it,
    a hospital's service desk records the relationship."""

    def relationship(
        self, parent: Document, child: Document, child_name: str, relationship: str
    ) -> bool: ...


def confirms_relationships(provider: Provider) -> RelationshipProvider | None:
    found = getattr(provider, "relationship", None)
    return provider if callable(found) else None  # type: ignore[return-value]


class FormatOnly:
    """The default: the document was parsed and its check character is right, and nothing
    more is known. Accounts it makes record FORMAT_CHECKED."""

    name = "format-only"

    def verify(self, name: str, document: Document) -> Verdict:
        return Verdict(matched=True, level=FORMAT_CHECKED, provider=self.name)


def load(spec: str) -> Provider:
    """The provider a setting names: "" for the default, else "module:attribute" of a class
    or factory taking no arguments (the city's own package, installed beside medsvc).
    Raises ValueError naming what is wrong."""
    if not spec:
        return FormatOnly()
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{spec!r} is not module:attribute")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{spec!r} cannot be loaded: {error}") from None
    try:
        provider = factory()
    except Exception as error:  # the city's code: whatever it raises, the start stops here
        raise ValueError(f"{spec!r} could not be made: {type(error).__name__}: {error}") from None
    if not callable(getattr(provider, "verify", None)) or not isinstance(
        getattr(provider, "name", None), str
    ):
        raise ValueError(f"{spec!r} makes no provider: it needs a name and verify()")
    checked: Provider = provider
    return checked


def at_least(level: str, wanted: str) -> bool:
    return level in LEVELS and LEVELS.index(level) >= LEVELS.index(wanted)
