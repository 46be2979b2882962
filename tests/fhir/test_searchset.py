"""Paging links on the public base, stable while resources are being added; Bundle.total."""

import httpx

from tests.factories import FHIR_JSON, patient


def create_patients(client: httpx.Client, count: int, family: str = "Paging") -> list[str]:
    ids = []
    for n in range(count):
        response = client.post("/Patient", json=patient(str(n), family), headers=FHIR_JSON)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    return ids


def link(bundle: dict, relation: str) -> str | None:
    return next((x["url"] for x in bundle["link"] if x["relation"] == relation), None)


def test_pages_cover_every_match_once(client: httpx.Client, base_url: str) -> None:
    created = create_patients(client, 25)
    bundle = client.get("/Patient", params={"name": "paging", "_count": 10}).json()
    assert link(bundle, "self").startswith(f"{base_url}/Patient?")
    seen, pages = [], 0
    while True:
        pages += 1
        assert bundle["total"] == 25
        seen += [e["resource"]["id"] for e in bundle.get("entry", [])]
        next_url = link(bundle, "next")
        if next_url is None:
            break
        assert next_url.startswith(base_url)
        bundle = client.get(next_url.removeprefix(base_url)).json()
    assert pages == 3
    assert sorted(seen) == sorted(created)
    assert link(bundle, "previous") is not None


def test_pages_stay_correct_while_resources_are_added(client: httpx.Client, base_url: str) -> None:
    created = create_patients(client, 12)
    first = client.get("/Patient", params={"name": "paging", "_count": 5}).json()
    create_patients(client, 7)  # arrive between pages
    seen = [e["resource"]["id"] for e in first["entry"]]
    bundle = first
    while (next_url := link(bundle, "next")) is not None:
        bundle = client.get(next_url.removeprefix(base_url)).json()
        assert bundle["total"] == 12
        seen += [e["resource"]["id"] for e in bundle["entry"]]
    assert sorted(seen) == sorted(created)
    fresh = client.get("/Patient", params={"name": "paging", "_summary": "count"}).json()
    assert fresh["total"] == 19


def test_sorted_pages_do_not_repeat(client: httpx.Client, base_url: str) -> None:
    for n in range(9):
        client.post(
            "/Patient",
            json=patient(str(n), "Sorted", birthDate=f"19{50 + n % 3}"),
            headers=FHIR_JSON,
        )
    bundle = client.get(
        "/Patient", params={"name": "sorted", "_sort": "-birthdate", "_count": 4}
    ).json()
    dates, seen = [], []
    while True:
        dates += [e["resource"]["birthDate"] for e in bundle["entry"]]
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        next_url = link(bundle, "next")
        if not next_url:
            break
        bundle = client.get(next_url.removeprefix(base_url)).json()
    assert len(seen) == len(set(seen)) == 9
    assert dates == sorted(dates, reverse=True)


def test_count_is_capped_and_zero_gives_total_only(client: httpx.Client) -> None:
    create_patients(client, 3)
    capped = client.get("/Patient", params={"_count": 100000}).json()
    assert "_count=1000" in link(capped, "self")
    empty = client.get("/Patient", params={"_count": 0}).json()
    assert empty["total"] == 3
    assert "entry" not in empty


def test_total_none_omits_total(client: httpx.Client) -> None:
    create_patients(client, 2)
    bundle = client.get("/Patient", params={"_total": "none"}).json()
    assert "total" not in bundle
    assert len(bundle["entry"]) == 2
