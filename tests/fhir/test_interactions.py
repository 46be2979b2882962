"""create, read, vread, update, patch and delete over HTTP, with their status codes and headers."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import LiveServer
from tests.factories import FHIR_JSON, patient, practitioner


def create(client: httpx.Client, resource: dict, **headers: str) -> httpx.Response:
    response = client.post(
        f"/{resource['resourceType']}", json=resource, headers={**FHIR_JSON, **headers}
    )
    assert response.status_code == 201, response.text
    return response


def test_create_assigns_id_version_and_headers(client: httpx.Client, base_url: str) -> None:
    response = create(client, patient())
    body = response.json()
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("Z")
    assert response.headers["etag"] == 'W/"1"'
    assert response.headers["location"] == f"{base_url}/Patient/{body['id']}/_history/1"
    assert response.headers["last-modified"].endswith("GMT")
    assert response.headers["content-type"].startswith("application/fhir+json")


def test_create_ignores_client_id_and_meta_version(client: httpx.Client) -> None:
    body = create(
        client, {**patient(), "id": "chosen", "meta": {"versionId": "9", "tag": [{"code": "kept"}]}}
    ).json()
    assert body["id"] != "chosen"
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["tag"] == [{"code": "kept"}]


def test_prefer_return_variants(client: httpx.Client) -> None:
    minimal = create(client, patient(), Prefer="return=minimal")
    assert minimal.content == b""
    assert minimal.headers["location"]
    outcome = create(client, patient(), Prefer="return=OperationOutcome").json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["severity"] == "information"


def test_read_and_conditional_read(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    read = client.get(f"/Patient/{created['id']}")
    assert read.status_code == 200
    assert read.json() == created
    assert read.headers["etag"] == 'W/"1"'
    unchanged = client.get(f"/Patient/{created['id']}", headers={"If-None-Match": 'W/"1"'})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    changed = client.get(f"/Patient/{created['id']}", headers={"If-None-Match": 'W/"0"'})
    assert changed.status_code == 200
    since = client.get(
        f"/Patient/{created['id']}", headers={"If-Modified-Since": read.headers["last-modified"]}
    )
    assert since.status_code == 304


def test_read_unknown_is_404_outcome(client: httpx.Client) -> None:
    response = client.get("/Patient/does-not-exist")
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def test_update_creates_new_version(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    changed = {**created, "active": False}
    response = client.put(f"/Patient/{created['id']}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response.headers["etag"] == 'W/"2"'
    first = client.get(f"/Patient/{created['id']}/_history/1").json()
    assert "active" not in first
    assert client.get(f"/Patient/{created['id']}/_history/2").json()["active"] is False


def test_update_with_identical_content_keeps_version(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    response = client.put(f"/Patient/{created['id']}", json=created, headers=FHIR_JSON)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "1"


def test_update_if_match(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    url = f"/Patient/{created['id']}"
    stale = client.put(
        url, json={**created, "active": True}, headers={**FHIR_JSON, "If-Match": 'W/"7"'}
    )
    assert stale.status_code == 412
    assert client.get(url).json()["meta"]["versionId"] == "1"
    fresh = client.put(
        url, json={**created, "active": True}, headers={**FHIR_JSON, "If-Match": 'W/"1"'}
    )
    assert fresh.status_code == 200


def test_update_id_mismatch_is_400(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    response = client.put(
        f"/Patient/{created['id']}", json={**created, "id": "other"}, headers=FHIR_JSON
    )
    assert response.status_code == 400
    missing = client.put(f"/Patient/{created['id']}", json=patient(), headers=FHIR_JSON)
    assert missing.status_code == 400
    assert client.get(f"/Patient/{created['id']}").json() == created


def test_update_as_create_with_client_id(client: httpx.Client, base_url: str) -> None:
    response = client.put(
        "/Practitioner/dr-1", json={**practitioner(), "id": "dr-1"}, headers=FHIR_JSON
    )
    assert response.status_code == 201
    assert response.headers["location"] == f"{base_url}/Practitioner/dr-1/_history/1"
    bad_id = client.put(
        "/Practitioner/bad_id!", json={**practitioner(), "id": "bad_id!"}, headers=FHIR_JSON
    )
    assert bad_id.status_code == 400


def test_delete_then_gone_and_history_kept(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    url = f"/Patient/{created['id']}"
    assert client.delete(url).status_code == 204
    gone = client.get(url)
    assert gone.status_code == 410
    assert gone.json()["issue"][0]["code"] == "deleted"
    assert client.get(f"{url}/_history/1").status_code == 200
    assert client.get(f"{url}/_history/2").status_code == 410
    assert client.delete(url).status_code == 204
    assert client.get("/Patient", params={"_id": created["id"]}).json()["total"] == 0
    revived = client.put(url, json=created, headers=FHIR_JSON)
    assert revived.status_code == 201
    assert revived.json()["meta"]["versionId"] == "3"


def test_json_patch(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    url = f"/Patient/{created['id']}"
    ops = [
        {"op": "replace", "path": "/name/0/family", "value": "Laine"},
        {"op": "add", "path": "/active", "value": True},
    ]
    response = client.patch(url, json=ops, headers={"Content-Type": "application/json-patch+json"})
    assert response.status_code == 200, response.text
    assert response.json()["name"][0]["family"] == "Laine"
    assert response.json()["meta"]["versionId"] == "2"


def test_json_patch_failures_change_nothing(client: httpx.Client) -> None:
    created = create(client, patient()).json()
    url = f"/Patient/{created['id']}"
    patch_type = {"Content-Type": "application/json-patch+json"}
    failing_test = [{"op": "test", "path": "/name/0/family", "value": "Nobody"}]
    assert client.patch(url, json=failing_test, headers=patch_type).status_code == 422
    bad_path = [{"op": "remove", "path": "/nothing/here"}]
    assert client.patch(url, json=bad_path, headers=patch_type).status_code == 400
    change_id = [{"op": "replace", "path": "/id", "value": "x"}]
    assert client.patch(url, json=change_id, headers=patch_type).status_code == 422
    invalid = [{"op": "add", "path": "/gender", "value": "robot"}]
    assert client.patch(url, json=invalid, headers=patch_type).status_code == 422
    wrong_type = client.patch(url, json=[], headers=FHIR_JSON)
    assert wrong_type.status_code == 400
    assert client.get(url).json() == created


def test_decimal_precision_is_kept(client: httpx.Client) -> None:
    body = (
        b'{"resourceType":"Observation","status":"preliminary","code":{"text":"creatinine"},'
        b'"category":[{"text":"laboratory"}],"subject":{"reference":"Patient/p1"},'
        b'"valueQuantity":{"value":1.50,"unit":"mg/dL","system":"http://unitsofmeasure.org",'
        b'"code":"mg/dL"}}'
    )
    created = client.post("/Observation", content=body, headers=FHIR_JSON)
    assert created.status_code == 201
    read = client.get(f"/Observation/{created.json()['id']}")
    assert b'"value":1.50' in read.content


def test_parallel_updates_with_the_same_if_match_have_one_winner(
    client: httpx.Client, live_server: LiveServer
) -> None:
    created = create(client, patient()).json()
    url = f"/Patient/{created['id']}"

    def attempt(n: int) -> int:
        body = {**created, "birthDate": f"19{n:02d}"}
        with httpx.Client(base_url=live_server.url + "/fhir", timeout=60) as own:
            return own.put(url, json=body, headers={**FHIR_JSON, "If-Match": 'W/"1"'}).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(attempt, range(12)))
    assert statuses.count(200) == 1, statuses
    assert statuses.count(412) == 11, statuses
    history = client.get(f"{url}/_history").json()
    assert history["total"] == 2


def test_parallel_updates_each_get_their_own_version(
    client: httpx.Client, live_server: LiveServer
) -> None:
    created = create(client, patient()).json()
    url = f"/Patient/{created['id']}"

    def attempt(n: int) -> str:
        body = {**created, "birthDate": f"19{n:02d}"}
        with httpx.Client(base_url=live_server.url + "/fhir", timeout=60) as own:
            response = own.put(url, json=body, headers=FHIR_JSON)
            assert response.status_code == 200, response.text
            return str(response.json()["meta"]["versionId"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        versions = list(pool.map(attempt, range(12)))
    assert sorted(versions, key=int) == [str(n) for n in range(2, 14)]
    history = client.get(f"{url}/_history", params={"_count": 50}).json()
    assert history["total"] == 13
