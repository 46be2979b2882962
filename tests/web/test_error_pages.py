"""Errors on the app's paths are the app's pages, in the person's language: an unknown path or
method, and a fault of ours (a database that cannot answer) naming the request id to quote;
the API's own paths keep their OperationOutcomes."""

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import Backend
from tests.scheduling.clinic import Open
from tests.web.conftest import People, signed_in
from tests.web.results import push_results

EN = {"Accept-Language": "en"}


def is_page(response: httpx.Response) -> bool:
    return response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/app/nowhere", 404),
        ("GET", "/app/results/R-1/nowhere", 404),
        ("POST", "/app/results", 405),
        ("DELETE", "/app/", 405),
        ("PUT", "/app/settings", 405),
    ],
)
def test_an_unknown_path_or_method_is_a_page(
    browser: httpx.Client, method: str, path: str, status: int
) -> None:
    answer = browser.request(method, path, headers=EN)
    assert answer.status_code == status
    assert is_page(answer)
    assert "Not found" in answer.text
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    chinese = browser.request(method, path)
    assert "未找到" in chinese.text


def test_the_apis_paths_keep_their_outcomes(browser: httpx.Client) -> None:
    answer = browser.get("/fhir/Nowhere")
    assert answer.status_code == 401  # not signed in to the API
    assert answer.headers["content-type"].startswith("application/fhir+json")


@pytest.fixture
def seen_table_gone(clean: Backend) -> Iterator[None]:
    """The app's own table of opened reports missing, as after a failed migration."""
    with clean.database.session(write=True) as session:
        session.execute(text("ALTER TABLE web_seen_result RENAME TO web_seen_result_away"))
    yield
    with clean.database.session(write=True) as session:
        session.execute(text("ALTER TABLE web_seen_result_away RENAME TO web_seen_result"))


def test_a_fault_of_ours_is_a_page_naming_the_request_id(
    browser: httpx.Client,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    clean: Backend,
    request: pytest.FixtureRequest,
) -> None:
    push_results(client, acting_as, "m-1", "R-1")
    signed_in(browser, "mei")
    listed = browser.get("/app/results", headers=EN).text
    path = "/app/results/" + listed.split('href="/app/results/', 1)[1].split('"', 1)[0]
    request.getfixturevalue("seen_table_gone")
    faulty = browser.get(path, headers=EN)
    assert is_page(faulty)
    assert "Creatinine" not in faulty.text
    if clean.name == "sqlite":  # "no such table" is an OperationalError: unavailable
        assert faulty.status_code == 503
        assert "Please try again" in faulty.text
    else:  # PostgreSQL's undefined table is no error anyone expects
        assert faulty.status_code == 500
        assert "Something went wrong" in faulty.text
        assert faulty.headers["x-request-id"] in faulty.text
