"""SMART Scheduling Links publication: the public manifest and NDJSON files hold exactly the
published directory, with the content types, caching and conditional GET the specification asks."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest

from medsvc import clock
from medsvc.access.organizations import DIRECTORY
from medsvc.fhir.datetimes import format_instant, to_micros
from medsvc.scheduling import bulk_publish
from tests.conftest import Backend, LiveServer
from tests.factories import FHIR_JSON, patient, practitioner, schedule, slot

INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def post(client: httpx.Client, resource: dict[str, object]) -> str:
    response = client.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def location(name: str, org_id: str, **extra: object) -> dict[str, object]:
    return {
        "resourceType": "Location",
        "name": name,
        "telecom": [{"system": "phone", "value": "+358 9 471 00"}],
        "address": {
            "line": ["Haartmaninkatu 4"],
            "city": "Helsinki",
            "state": "Uusimaa",
            "postalCode": "00290",
        },
        "managingOrganization": {"reference": f"Organization/{org_id}"},
        **extra,
    }


def slot_at(
    schedule_id: str, now: datetime, hours: float, status: str = "free"
) -> dict[str, object]:
    """A half-hour Slot starting the given hours from now (negative: in the past)."""
    start = now + timedelta(hours=hours)
    end = start + timedelta(minutes=30)
    return slot(f"Schedule/{schedule_id}", format_instant(start), format_instant(end), status)


@dataclass
class Directory:
    """What was written, and the ids each file must hold exactly."""

    now: datetime
    expected: dict[str, set[str]]
    patient_id: str
    schedule_id: str
    first_slot: str


@pytest.fixture
def directory(client: httpx.Client) -> Directory:
    now = datetime.now(UTC)
    org = post(client, {"resourceType": "Organization", "name": "City Hospital"})
    open_ward = post(client, location("Ward 3", org, status="active"))
    no_status = post(client, location("Clinic", org))
    post(client, location("Old wing", org, status="inactive"))
    gone = post(client, location("Annex", org))
    doctor = post(client, practitioner())
    actors = [{"reference": f"Location/{open_ward}"}, {"reference": f"Practitioner/{doctor}"}]
    published = post(client, schedule(f"Location/{open_ward}") | {"actor": actors})
    retired = post(client, schedule(f"Location/{no_status}") | {"active": False})
    patient_id = post(client, patient())
    private = post(client, schedule(f"Patient/{patient_id}"))
    removed = post(client, schedule(f"Location/{no_status}"))
    first = post(client, slot_at(published, now, 1))
    busy = post(client, slot_at(published, now, 2, status="busy"))
    for excluded in (
        slot_at(published, now, -2),
        slot_at(published, now, 3, status="entered-in-error"),
        slot_at(retired, now, 1),
        slot_at(private, now, 1),
        slot_at(removed, now, 1),
    ):
        post(client, excluded)
    deleted_slot = post(client, slot_at(published, now, 4))
    for path in (f"Location/{gone}", f"Schedule/{removed}", f"Slot/{deleted_slot}"):
        assert client.delete(f"/{path}").status_code in (200, 204)
    expected = {"Location": {open_ward, no_status}, "Schedule": {published}, "Slot": {first, busy}}
    return Directory(now, expected, patient_id, published, first)


@pytest.fixture
def public(smart_server: LiveServer) -> Iterator[httpx.Client]:
    """A caller with no token at all, on the server that demands one for FHIR requests."""
    with httpx.Client(base_url=smart_server.url, timeout=30) as http:
        yield http


def manifest_of(public: httpx.Client, **headers: str) -> httpx.Response:
    response = public.get("/fhir/$bulk-publish", headers=headers)
    assert response.status_code == 200, response.text
    return response


def lines_of(response: httpx.Response) -> list[bytes]:
    assert response.content.endswith(b"\n")
    return response.content.split(b"\n")[:-1]


def test_manifest_is_public_json_listing_the_three_files(
    directory: Directory, public: httpx.Client, smart_server: LiveServer
) -> None:
    plain = manifest_of(public)
    as_json = manifest_of(public, Accept="application/json")
    encoded = public.get("/fhir/%24bulk-publish")
    assert plain.json()["output"] == as_json.json()["output"] == encoded.json()["output"]
    for response in (plain, as_json, encoded):
        assert response.headers["content-type"] == "application/json"
        assert "max-age=60" in response.headers["cache-control"]
    manifest = plain.json()
    assert INSTANT.match(manifest["transactionTime"])
    base = f"{smart_server.url}/fhir/$bulk-publish"
    assert manifest["request"] == base
    assert manifest["error"] == []
    assert manifest["output"] == [
        {"type": name, "url": f"{base}/{name}.ndjson", "extension": {"state": ["Uusimaa"]}}
        for name in ("Location", "Schedule", "Slot")
    ]
    assert set(bulk_publish.FILES) <= DIRECTORY
    assert set(bulk_publish.PUBLIC_ACTOR_TYPES) <= DIRECTORY


def test_files_hold_exactly_the_published_directory_as_stored(
    directory: Directory, public: httpx.Client, client: httpx.Client
) -> None:
    for output in manifest_of(public).json()["output"]:
        plain = public.get(output["url"])
        as_ndjson = public.get(output["url"], headers={"Accept": "application/fhir+ndjson"})
        assert plain.content == as_ndjson.content
        for response in (plain, as_ndjson):
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/fhir+ndjson"
            assert "max-age=60" in response.headers["cache-control"]
        lines = lines_of(plain)
        resources = [orjson.loads(line) for line in lines]
        assert {r["resourceType"] for r in resources} == {output["type"]}
        ids = [r["id"] for r in resources]
        assert sorted(ids) == sorted(directory.expected[output["type"]])
        for line, resource in zip(lines, resources, strict=True):
            assert line == orjson.dumps(resource)  # minified
            assert line == client.get(f"/{output['type']}/{resource['id']}").content  # as stored


def test_nothing_outside_the_directory_is_published_or_opened(
    directory: Directory, public: httpx.Client
) -> None:
    published = b"".join(public.get(o["url"]).content for o in manifest_of(public).json()["output"])
    assert directory.patient_id.encode() not in published
    assert b'"Patient' not in published
    for path in (
        f"/fhir/Patient/{directory.patient_id}",
        "/fhir/Location",
        f"/fhir/Slot/{directory.first_slot}",
        "/fhir/$bulk-publish/Patient.ndjson",
    ):
        assert public.get(path).status_code == 401, path
    assert public.post("/fhir/$bulk-publish", json={}).status_code == 401


def test_conditional_get_answers_304_until_the_file_changes(
    directory: Directory, public: httpx.Client, client: httpx.Client
) -> None:
    url = "/fhir/$bulk-publish/Slot.ndjson"
    etag = public.get(url).headers["etag"]
    unchanged = public.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert "max-age=60" in unchanged.headers["cache-control"]

    post(client, slot_at(directory.schedule_id, directory.now, 5))
    changed = public.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag

    later = directory.now + timedelta(hours=1, minutes=1)  # the first slot's start has passed
    clock.set_source(lambda: later)
    passed = public.get(url, headers={"If-None-Match": changed.headers["etag"]})
    assert passed.status_code == 200
    assert directory.first_slot not in {orjson.loads(line)["id"] for line in lines_of(passed)}
    assert public.get(url, headers={"If-None-Match": passed.headers["etag"]}).status_code == 304


def test_pages_follow_the_id_order_without_gaps_or_repeats(
    directory: Directory, clean: Backend
) -> None:
    now = to_micros(directory.now)
    schedules = bulk_publish.published_ids(clean.database, bulk_publish.FILES["Schedule"], now)
    for file in bulk_publish.FILES.values():
        parents = schedules if file.parent else frozenset()
        rows: list[tuple[str, bytes | None]] = []
        while page := bulk_publish.read_page(
            clean.database, file, now, rows[-1][0] if rows else "", parents, size=1
        ):
            rows += page
        assert rows == bulk_publish.read_page(clean.database, file, now, "", parents)
        assert {row_id for row_id, content in rows if content} == directory.expected[
            file.resource_type
        ]
