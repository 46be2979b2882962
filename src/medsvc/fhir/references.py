"""Literal references (references.html#literal), parsed one way for every reader and writer,
so that what a write check sees is what the index stores: local (`Type/id[/_history/v]`, on
this server's base or relative), contained, a placeholder, external, or refused."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource

from medsvc.errors import Issue, Unprocessable

ID = r"[A-Za-z0-9\-.]{1,64}"  # the FHIR id datatype (datatypes.html#id)
ID_PATTERN = re.compile(ID)
_LOCAL = re.compile(
    rf"(?P<type>[A-Z][A-Za-z]{{1,63}})/(?P<id>{ID})(?:/_history/(?P<version>{ID}))?"
)
_CONTAINED = re.compile(rf"#(?:{ID})?")
_UUID = re.compile(r"urn:uuid:[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_OID = re.compile(r"urn:oid:[0-2](?:\.(?:0|[1-9][0-9]*))+")
_CONDITIONAL = re.compile(r"(?P<type>[A-Z][A-Za-z]{1,63})\?(?P<query>.+)", re.DOTALL)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_UNSAFE = re.compile(r"[\s\\\x00-\x1f\x7f]")
_ABSTRACT = frozenset({"Resource", "DomainResource"})
# Valid ids by the grammar, but a URL resolver would remove them (RFC 3986 section 5.2.4).
_DOT_SEGMENTS = frozenset({".", ".."})


class BadReference(Unprocessable):
    """A reference that is neither local in the one accepted spelling nor clearly elsewhere."""


@dataclass(frozen=True)
class Target:
    """The local resource a reference points at."""

    type: str
    id: str
    version: str | None = None


@dataclass(frozen=True)
class Parsed:
    """What a reference is: kind is local, contained, placeholder (urn:uuid:, urn:oid:) or
    external (an absolute URL on another server); target is set for local ones only."""

    kind: str
    target: Target | None = None


@lru_cache(maxsize=512)
def is_resource_type(name: str) -> bool:
    """Whether the name is exactly a concrete R4B resource type (`Patient`, not `patient`)."""
    try:
        model = get_fhir_model_class(name)
    except (ValueError, KeyError, ImportError, AttributeError):
        return False
    return (
        issubclass(model, Resource) and name not in _ABSTRACT and model.get_resource_type() == name
    )


def _local(path: str, reference: str) -> Parsed:
    match = _LOCAL.fullmatch(path)
    if match is None:
        raise BadReference(
            f"'{reference}' is not a reference this server accepts: write Type/id "
            "(optionally /_history/version), or the same after this server's base URL"
        )
    if not is_resource_type(match["type"]):
        raise BadReference(f"'{reference}' names '{match['type']}', which is no resource type")
    if {match["id"], match["version"]} & _DOT_SEGMENTS:
        raise BadReference(f"'{reference}' holds a dot segment (RFC 3986 section 5.2.4)")
    return Parsed("local", Target(match["type"], match["id"], match["version"]))


def _same_server(url: str, base_url: str) -> bool:
    """Whether an absolute URL names this server's host in any spelling (case, port, a
    trailing dot, user info): only the base URL exactly as configured is ours."""
    ours = urlsplit(base_url).hostname or ""
    theirs = urlsplit(url).hostname or ""
    return theirs.rstrip(".").lower() == ours.rstrip(".").lower()


def _absolute(reference: str, base_url: str | None) -> Parsed:
    try:
        parts = urlsplit(reference)
        host, _port = parts.hostname, parts.port  # a port that is no number raises
    except ValueError as error:
        raise BadReference(f"'{reference}' is not a valid URL") from error
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise BadReference(
            f"'{reference}' is not a reference this server accepts: a local Type/id, "
            "#contained, urn:uuid:, urn:oid: or an http(s) URL"
        )
    if base_url is not None and _same_server(reference, base_url):
        raise BadReference(
            f"'{reference}' names this server but not as {base_url}/Type/id: "
            "write Type/id or the base URL exactly"
        )
    return Parsed("external")


def parse(reference: str, base_url: str | None) -> Parsed:
    """The one parser of Reference.reference; BadReference (422) when it is refused. Without
    a base URL only the relative form is local (for elements this server keeps relative)."""
    if _UNSAFE.search(reference):
        raise BadReference(f"'{reference}' holds whitespace, a backslash or a control character")
    if reference.startswith("#"):
        if not _CONTAINED.fullmatch(reference):
            raise BadReference(f"'{reference}' is not a contained reference such as #id")
        return Parsed("contained")
    if reference[:4].lower() == "urn:":
        if not (_UUID.fullmatch(reference) or _OID.fullmatch(reference)):
            raise BadReference(f"'{reference}' is neither a urn:uuid: nor a urn:oid:")
        return Parsed("placeholder")
    if base_url is not None and reference.startswith(base_url + "/"):
        return _local(reference[len(base_url) + 1 :], reference)
    if _SCHEME.match(reference):
        return _absolute(reference, base_url)
    return _local(reference, reference)


def local_target(reference: Any, base_url: str | None) -> Target | None:
    """The local resource a reference points at; None for anything else, a refused spelling
    included (content stored before references were checked is read with this)."""
    if not isinstance(reference, str):
        return None
    try:
        return parse(reference, base_url).target
    except BadReference:
        return None


def conditional(reference: str) -> tuple[str, str] | None:
    """The type and query of a conditional reference (`Patient?identifier=s|v`), which a
    transaction resolves to Type/id before anything is written (http.html#trules)."""
    match = _CONDITIONAL.fullmatch(reference)
    if match is None or not is_resource_type(match["type"]):
        return None
    return match["type"], match["query"]


def type_named(reference: str) -> str | None:
    """The resource type a reference's URL names, local or not, for FHIRPath's
    `resolve() is T`: whether it is local is for parse() alone to say."""
    path = urlsplit(reference).path if _SCHEME.match(reference) else reference
    segments = path.split("/")
    for tail in (segments[-2:], segments[-4:]):
        match = _LOCAL.fullmatch("/".join(tail))
        if match is not None and is_resource_type(match["type"]):
            return match["type"]
    return None


def walk(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every Reference.reference string in a resource, with its element path."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item, f"{where}.reference"
            elif isinstance(item, dict | list):  # no path is made for a primitive
                yield from walk(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict | list):
                yield from walk(item, f"{where}[{i}]")


def find_issues(resource: dict[str, Any], base_url: str) -> list[Issue]:
    """One issue, naming its element, for each reference in the resource that is refused."""
    issues = []
    for reference, where in walk(resource, str(resource.get("resourceType"))):
        try:
            parse(reference, base_url)
        except BadReference as error:
            issues.append(Issue(f"{where}: {error.diagnostics}", "value", expression=(where,)))
    return issues


def require_valid(resource: dict[str, Any], base_url: str) -> None:
    """Refuses (422) a resource holding any reference this server does not accept."""
    issues = find_issues(resource, base_url)
    if issues:
        raise BadReference(issues[0].diagnostics, issues=issues)


def local_targets(resource: dict[str, Any], base_url: str) -> Iterator[Target]:
    """The local resources a (checked) resource refers to, anywhere in it."""
    for reference, _where in walk(resource, ""):
        target = local_target(reference, base_url)
        if target is not None:
            yield target
