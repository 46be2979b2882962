"""Whole numbers from URLs and headers: ASCII digits within a BIGINT, or nothing."""

import httpx
import pytest

from medsvc.fhir.numbers import BIGINT_MAX, natural
from tests.factories import FHIR_JSON, patient


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        (str(BIGINT_MAX), BIGINT_MAX),
        (str(BIGINT_MAX + 1), None),
        ("9" * 5000, None),  # int() itself refuses over 4,300 digits
        ("²", None),  # str.isdigit() says yes, int() says no
        ("٣", None),
        ("-1", None),
        ("1.0", None),
        ("", None),
        (" 1", None),
    ],
)
def test_natural(text: str, expected: int | None) -> None:
    assert natural(text) == expected


@pytest.mark.parametrize("version", ["999999999999999999999", "²", "9" * 5000])
def test_a_vread_of_an_impossible_version_is_404(client: httpx.Client, version: str) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    response = client.get(f"/Patient/{created['id']}/_history/{version}")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("etag", ['W/"999999999999999999999"', 'W/"1.5"'])
def test_an_if_match_beyond_any_version_is_400(client: httpx.Client, etag: str) -> None:
    created = client.post("/Patient", json=patient(), headers=FHIR_JSON).json()
    response = client.put(
        f"/Patient/{created['id']}", json=created, headers={**FHIR_JSON, "If-Match": etag}
    )
    assert response.status_code == 400
    assert client.get(f"/Patient/{created['id']}").json()["meta"]["versionId"] == "1"


@pytest.mark.parametrize("count", ["99999999999999999999999", "²", "9" * 5000])
def test_odd_counts_are_400(client: httpx.Client, count: str) -> None:
    for path in ("/Patient", "/Patient/_history"):
        response = client.get(path, params={"_count": count})
        assert response.status_code == 400, (path, response.text)


@pytest.mark.parametrize(
    "cursor", ["99999999999999999999999.1", "1.99999999999999999999999", "².1"]
)
def test_a_tampered_paging_cursor_is_400(client: httpx.Client, cursor: str) -> None:
    client.post("/Patient", json=patient(), headers=FHIR_JSON)
    for path in ("/Patient", "/Patient/_history"):
        response = client.get(path, params={"_cursor": cursor})
        assert response.status_code == 400, (path, response.text)
