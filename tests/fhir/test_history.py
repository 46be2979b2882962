"""Instance and type history: every version, deletes included, newest first, paged."""

import httpx

from tests.factories import FHIR_JSON, patient, practitioner


def test_instance_history_lists_every_version(client: httpx.Client, base_url: str) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    url = f"/Patient/{created['id']}"
    client.put(url, json={**created, "active": True}, headers=FHIR_JSON)
    client.delete(url)
    bundle = client.get(f"{url}/_history").json()
    assert bundle["type"] == "history"
    assert bundle["total"] == 3
    methods = [e["request"]["method"] for e in bundle["entry"]]
    assert methods == ["DELETE", "PUT", "POST"]
    assert "resource" not in bundle["entry"][0]
    assert bundle["entry"][1]["resource"]["active"] is True
    assert bundle["entry"][2]["response"]["status"] == "201 Created"
    assert bundle["entry"][1]["response"]["etag"] == 'W/"2"'
    assert bundle["entry"][1]["fullUrl"] == f"{base_url}/Patient/{created['id']}"


def test_type_history_and_since(client: httpx.Client, base_url: str) -> None:
    first = client.post("/Patient", json=patient("1"), headers=FHIR_JSON).json()
    client.post("/Practitioner", json=practitioner(), headers=FHIR_JSON)
    second = client.post("/Patient", json=patient("2"), headers=FHIR_JSON).json()
    bundle = client.get("/Patient/_history").json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [second["id"], first["id"]]
    since = client.get("/Patient/_history", params={"_since": second["meta"]["lastUpdated"]}).json()
    assert second["id"] in [e["resource"]["id"] for e in since["entry"]]
    assert client.get("/Patient/_history", params={"_since": "yesterday"}).status_code == 400


def test_history_paging(client: httpx.Client, base_url: str) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    url = f"/Patient/{created['id']}"
    for n in range(6):
        client.put(url, json={**created, "birthDate": f"200{n}"}, headers=FHIR_JSON)
    page = client.get(f"{url}/_history", params={"_count": 3}).json()
    versions = []
    while True:
        versions += [e["response"]["etag"] for e in page["entry"]]
        next_url = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
        if not next_url:
            break
        client.put(url, json={**created, "birthDate": "1999"}, headers=FHIR_JSON)
        page = client.get(next_url.removeprefix(base_url)).json()
    assert versions == [f'W/"{n}"' for n in range(7, 0, -1)]


def test_history_of_unknown_is_404(client: httpx.Client) -> None:
    assert client.get("/Patient/nobody/_history").status_code == 404
