"""A measurement's trend: the citizen's own values over time as a chart with the range's band
and shapes for high and low, and a table; a doctor's under the care relationship; and codes
that are not one token refused before any call."""

import re

import httpx
import pytest

from tests.scheduling.clinic import Open
from tests.web.clinic import book_visits, day_after_tomorrow, doctors_schedule
from tests.web.conftest import People, signed_in
from tests.web.results import push_results

EN = {"Accept-Language": "en"}
CREATININE = "http://loinc.org|2160-0"
# (report, creatinine, when): high, normal, then low, pushed out of date order.
PUSHED = [
    ("R-2", 0.9, "2026-10-01T08:00:00+08:00"),
    ("R-1", 1.5, "2026-09-01T08:00:00+08:00"),
    ("R-3", 0.5, "2026-11-01T08:00:00+08:00"),
]


@pytest.fixture
def three_values(client: httpx.Client, people: People, acting_as: Open) -> None:
    for report, value, when in PUSHED:
        push_results(client, acting_as, "m-1", report, creatinine=value, effective=when)


def marks(page: str) -> list[str]:
    return re.findall(r'<path class="mark( flagged)?" d="M[^"]+"', page)


def test_a_citizen_sees_a_measurements_values_over_time(
    browser: httpx.Client, people: People, three_values: None
) -> None:
    signed_in(browser, "mei")
    trend = browser.get("/app/trend", params={"code": CREATININE}, headers=EN)
    assert trend.status_code == 200, trend.text
    assert trend.headers["cache-control"] == "no-store"
    page = trend.text
    assert "Creatinine over time" in page
    assert 'role="img"' in page
    assert "3 values from" in page
    assert len(marks(page)) == 3
    assert sum(1 for m in marks(page) if m) == 2  # the high and the low one
    assert '<rect class="band"' in page  # the reference range
    assert "▲ high, ▼ low" in page
    body = page.split("<tbody>", 1)[1]
    assert body.index("November 1, 2026") < body.index("October 1, 2026")
    assert body.index("October 1, 2026") < body.index("September 1, 2026")
    assert "↑ High" in body
    assert "↓ Low" in body
    line = re.search(r'<polyline class="line" points="([^"]+)"', page)
    assert line is not None
    xs = [float(point.split(",")[0]) for point in line.group(1).split()]
    assert xs == sorted(xs)
    assert len(set(xs)) == 3


def test_a_reports_row_links_to_its_trend(
    browser: httpx.Client, people: People, three_values: None
) -> None:
    signed_in(browser, "mei")
    listed = browser.get("/app/results", headers=EN).text
    report_id = listed.split('href="/app/results/', 1)[1].split('"', 1)[0]
    report = browser.get(f"/app/results/{report_id}", headers=EN).text
    assert 'href="/app/trend?code=http%3A//loinc.org%7C2160-0"' in report
    assert "Trend of Creatinine" in report


def test_one_value_is_a_table_without_a_chart(
    browser: httpx.Client, client: httpx.Client, people: People, acting_as: Open
) -> None:
    push_results(client, acting_as, "m-1", "R-1")
    signed_in(browser, "mei")
    page = browser.get("/app/trend", params={"code": CREATININE}, headers=EN).text
    assert "<svg" not in page
    assert page.split("<tbody>", 1)[1].count("<tr") == 1


def test_another_citizens_values_are_not_found(
    browser: httpx.Client, people: People, three_values: None
) -> None:
    signed_in(browser, "lei")
    refused = browser.get("/app/trend", params={"code": CREATININE}, headers=EN)
    assert refused.status_code == 404
    assert "Not found" in refused.text
    assert "1.5" not in refused.text


@pytest.mark.parametrize(
    "code",
    [
        "",
        "2160-0",  # no system bar: the page links only system|code
        "http://loinc.org|2160-0,http://loinc.org|718-7",
        "http://loinc.org|2160-0\\,718-7",
        "http://loinc.org|",
        "a|b|c",
        "http://loinc.org|2160-0 ",
        "x" * 201 + "|2160-0",
        "$everything|1",
    ],
)
def test_a_code_that_is_not_one_token_is_not_found(
    browser: httpx.Client, people: People, code: str
) -> None:
    signed_in(browser, "mei")
    assert browser.get("/app/trend", params={"code": code}, headers=EN).status_code == 404


def test_a_doctor_sees_a_trend_of_a_patient_in_their_care_only(
    browser: httpx.Client,
    client: httpx.Client,
    people: People,
    acting_as: Open,
    three_values: None,
) -> None:
    signed_in(browser, "dr-wang")
    before = browser.get(
        f"/app/patients/{people.citizen}/trend", params={"code": CREATININE}, headers=EN
    )
    assert before.status_code == 404
    schedule_id = doctors_schedule(client, people.doctor)
    book_visits(client, acting_as, schedule_id, [people.citizen], day_after_tomorrow())
    after = browser.get(
        f"/app/patients/{people.citizen}/trend", params={"code": CREATININE}, headers=EN
    )
    assert after.status_code == 200
    assert len(marks(after.text)) == 3
    assert f'href="/app/patients/{people.citizen}/results"' in after.text
    for hostile in ("..%2FPatient", "x" * 65):
        path = f"/app/patients/{hostile}/trend"
        assert browser.get(path, params={"code": CREATININE}).status_code == 404
