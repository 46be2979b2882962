"""A citizen's results in the app: the list (newest first, unread ones new), a report with its
observations (value, unit, range, flag in words), its PDF; and what the app refuses."""

import httpx
import pytest

from tests.factories import FHIR_JSON
from tests.results.lab_push import lab_bundle
from tests.scheduling.clinic import Open, hospital_context
from tests.web.conftest import People, signed_in
from tests.web.results import PDF, push_results

EN = {"Accept-Language": "en"}


def report_id_of(page: str) -> str:
    return page.split('href="/app/results/', 1)[1].split('"', 1)[0]


@pytest.fixture
def results(client: httpx.Client, people: People, acting_as: Open) -> None:
    push_results(client, acting_as, "m-1", "R-1")


def test_a_citizen_reads_a_new_report_and_it_is_new_no_more(
    browser: httpx.Client, people: People, results: None
) -> None:
    signed_in(browser, "mei")
    listed = browser.get("/app/results", headers=EN)
    assert listed.status_code == 200
    assert listed.text.count('class="card"') == 1
    assert ">New<" in listed.text
    report_id = report_id_of(listed.text)
    report = browser.get(f"/app/results/{report_id}", headers=EN)
    assert report.status_code == 200
    assert report.headers["cache-control"] == "no-store"
    assert "Creatinine" in report.text
    assert "↑ High" in report.text
    assert "0.6 - 1.2" in report.text
    assert "718-7" in report.text  # a result with no name is shown by its code
    assert report.text.count("<tr") == 3  # the header and two observations
    assert f'href="/app/results/{report_id}/pdf"' in report.text
    assert ">New<" not in browser.get("/app/results", headers=EN).text


def test_the_reports_pdf_is_downloaded_never_shown_in_the_app(
    browser: httpx.Client, people: People, results: None
) -> None:
    signed_in(browser, "mei")
    report_id = report_id_of(browser.get("/app/results").text)
    pdf = browser.get(f"/app/results/{report_id}/pdf")
    assert pdf.status_code == 200
    assert pdf.content == PDF
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment")
    assert pdf.headers["content-security-policy"] == "sandbox"
    assert pdf.headers["cache-control"] == "no-store"


def test_another_citizens_report_is_not_found(
    browser: httpx.Client, people: People, results: None
) -> None:
    signed_in(browser, "mei")
    report_id = report_id_of(browser.get("/app/results").text)
    browser.post("/app/signout", data={"csrf_token": "x"})  # refused: a forged sign-out
    browser.cookies.clear()
    signed_in(browser, "lei")
    assert 'class="card"' not in browser.get("/app/results").text
    for path in (f"/app/results/{report_id}", f"/app/results/{report_id}/pdf"):
        refused = browser.get(path, headers=EN)
        assert refused.status_code == 404
        assert "Not found" in refused.text
        assert "Creatinine" not in refused.text


@pytest.mark.parametrize(
    "report_id",
    ["..%2F..%2Ffhir%2FPatient", "x" * 65, "a%00b", "R-1%3F_include%3D*", "%E2%80%AE"],
)
def test_a_report_path_that_is_no_id_is_not_found_before_any_call(
    browser: httpx.Client, people: People, report_id: str
) -> None:
    signed_in(browser, "mei")
    for suffix in ("", "/pdf"):
        assert browser.get(f"/app/results/{report_id}{suffix}").status_code == 404


def test_results_are_for_signed_in_citizens(browser: httpx.Client, people: People) -> None:
    assert browser.get("/app/results", headers=EN).status_code == 401
    signed_in(browser, "dr-wang")
    assert browser.get("/app/results", headers=EN).status_code == 404


def test_a_result_waiting_for_review_is_told_not_shown(
    browser: httpx.Client, client: httpx.Client, people: People, acting_as: Open
) -> None:
    push_results(client, acting_as, "m-1", "R-1")
    review = "http://terminology.hl7.org/CodeSystem/v2-0074|LAB=review"
    push_results(client, acting_as, "m-1", "R-2", creatinine=3.0, release_rules=review)
    signed_in(browser, "mei")
    listed = browser.get("/app/results", headers=EN).text
    assert listed.count('class="card"') == 1  # the released one only
    assert "1 result is waiting for a doctor's review" in listed
    assert "3.0" not in listed
    chinese = browser.get("/app/results", headers={"Accept-Language": "zh-CN"}).text
    assert "1 项结果正在等待医生审核" in chinese


def test_a_report_without_a_pdf_offers_none(
    browser: httpx.Client, client: httpx.Client, people: People, acting_as: Open
) -> None:
    organization = client.post(
        "/Organization",
        json={"resourceType": "Organization", "name": "City Lab"},
        headers=FHIR_JSON,
    ).json()["id"]
    bundle = lab_bundle("m-1", "R-5")
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] not in ("DocumentReference", "Binary")
    ]
    hospital = acting_as(hospital_context(organization))
    assert hospital.post("/", json=bundle, headers=FHIR_JSON).status_code == 200
    signed_in(browser, "mei")
    report_id = report_id_of(browser.get("/app/results").text)
    report = browser.get(f"/app/results/{report_id}", headers=EN)
    assert report.status_code == 200
    assert "/pdf" not in report.text
