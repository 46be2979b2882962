"""Assembles the searchset Bundle: stored bytes embedded as they are, links on the public base."""

import uuid
from typing import Any
from urllib.parse import urlencode

from medsvc import clock
from medsvc.fhir import jsonio
from medsvc.fhir.datetimes import format_instant
from medsvc.fhir.search.params import SearchRequest
from medsvc.fhir.search.run import Page
from medsvc.fhir.store import Stored

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
MANDATORY_ELEMENTS = ("resourceType", "id", "meta")


def _link(base_url: str, request: SearchRequest, offset: int | None, snapshot: int) -> str:
    pairs = [*request.applied, ("_count", str(request.count))]
    if offset is not None:
        pairs.append(("_cursor", f"{offset}.{snapshot}"))
    return f"{base_url}/{request.resource_type}?{urlencode(pairs)}"


def links(base_url: str, request: SearchRequest, page: Page) -> list[dict[str, str]]:
    self_offset = request.offset if request.snapshot is not None else None
    found = [{"relation": "self", "url": _link(base_url, request, self_offset, page.snapshot)}]
    if request.summary_count:
        return found
    if page.has_next:
        found.append(
            {
                "relation": "next",
                "url": _link(base_url, request, request.offset + request.count, page.snapshot),
            }
        )
    if request.offset > 0:
        found.append(
            {
                "relation": "previous",
                "url": _link(
                    base_url, request, max(0, request.offset - request.count), page.snapshot
                ),
            }
        )
    return found


def subset(content: bytes, elements: list[str]) -> Any:
    """The resource reduced to the requested top-level elements, tagged SUBSETTED."""
    resource = jsonio.loads_stored(content)
    kept = {
        k: v
        for k, v in resource.items()
        if k in MANDATORY_ELEMENTS
        or k in elements
        or any(k.startswith(e) and k[len(e) :][:1].isupper() for e in elements)
    }
    meta = dict(kept.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return kept


def entry(
    base_url: str, stored: Stored, mode: str, elements: list[str] | None = None
) -> dict[str, Any]:
    assert stored.content is not None
    resource = subset(stored.content, elements) if elements else jsonio.raw(stored.content)
    return {"fullUrl": stored.url(base_url), "resource": resource, "search": {"mode": mode}}


def render(base_url: str, request: SearchRequest, page: Page) -> bytes:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(clock.now())},
        "type": "searchset",
    }
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links(base_url, request, page)
    entries = [entry(base_url, m, "match", request.elements) for m in page.matches]
    entries += [entry(base_url, i, "include") for i in page.included]
    if entries:
        bundle["entry"] = entries
    return jsonio.dumps(bundle)
