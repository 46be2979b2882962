"""The demo city as its people meet it: loaded once per database (and once more, which adds
nothing), then read through the real HTTP API and the app as the demo's citizen and doctor."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from medsvc import clock
from medsvc.app import create_app
from medsvc.cli import demo, demo_access
from medsvc.cli.demo_bundle import SYSTEM
from medsvc.config import Settings
from tests.conftest import Backend, LiveServer, free_port, make_settings
from tests.web.conftest import finish_sign_in

ZONE = "Asia/Shanghai"
TREND = "http://loinc.org|4548-4"
LAB = "http://terminology.hl7.org/CodeSystem/v2-0074"


@dataclass(frozen=True)
class City:
    settings: Settings
    server: LiveServer
    loaded: dict[str, Any]
    again: dict[str, Any]
    today: date  # the city's day it was loaded on

    def password(self, username: str) -> str:
        return str(self.loaded["access"]["passwords"][username])

    def api(self, username: str) -> httpx.Client:
        """The FHIR API with the person's token, got as the demo's app gets it."""
        token = demo_access.person_token(
            self.settings, self.loaded["access"], username, self.password(username)
        )
        return httpx.Client(
            base_url=self.server.url + "/fhir",
            timeout=30,
            headers={"Authorization": f"Bearer {token['access_token']}"},
        )


@pytest.fixture(scope="module")
def city(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    backend.reset()
    port = free_port()
    settings = make_settings(backend.url, port, timezone=ZONE, token_requests_per_minute=1_000_000)
    directory: Path = tmp_path_factory.mktemp("demo")
    today = clock.now().astimezone(ZoneInfo(ZONE)).date()
    loaded = demo.load(settings, directory)
    again = demo.load(settings, directory)
    with LiveServer(create_app(settings, backend.database), port) as server:
        yield City(settings, server, loaded, again, today)
    backend.reset()


def entries(bundle: httpx.Response, mode: str = "match") -> list[dict[str, Any]]:
    assert bundle.status_code == 200, bundle.text
    return [e["resource"] for e in bundle.json().get("entry", []) if e["search"]["mode"] == mode]


def one_id(api: httpx.Client, resource_type: str, key: str) -> str:
    found = entries(api.get(f"/{resource_type}", params={"identifier": f"{SYSTEM}|{key}"}))
    assert len(found) == 1
    return str(found[0]["id"])


def test_loading_again_adds_nothing_and_keeps_the_people(city: City) -> None:
    assert city.loaded["created"] > 0
    assert city.loaded["existing"] == 0
    assert city.again == {
        "created": 0,
        "existing": city.loaded["created"],
        "access": city.loaded["access"],
    }
    assert set(city.loaded["access"]["passwords"]) == set(demo_access.PEOPLE)


def translation(element: dict[str, Any]) -> str:
    parts = {p["url"]: p for p in element["extension"][0]["extension"]}
    assert parts["lang"]["valueCode"] == "en"
    return str(parts["content"]["valueString"])


def local_time(instant: str) -> time:
    moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo(ZONE)).time()


def test_two_hospitals_with_departments_and_their_free_times(city: City) -> None:
    with city.api("mei") as api:
        hospitals = entries(api.get("/Organization"))
        english = {h["name"]: translation(h["_name"]) for h in hospitals}
        assert english == {
            "市第一人民医院": "City First People's Hospital",
            "市中心医院": "City Central Hospital",
        }
        by_alias = entries(api.get("/Organization", params={"name": "City Central"}))
        assert [h["name"] for h in by_alias] == ["市中心医院"]
        by_pinyin = entries(api.get("/Practitioner", params={"name": "Wang"}))
        assert [d["name"][0]["family"] for d in by_pinyin] == ["王"]
        now = clock.now()
        window = {"start": now.isoformat(), "end": (now + timedelta(days=14)).isoformat()}
        services = {}
        for hospital in hospitals:
            found = api.get(
                "/Appointment/$find",
                params={
                    **window,
                    "organization": f"Organization/{hospital['id']}",
                    "_count": "1000",
                },
            )
            proposals = entries(found)
            services[hospital["name"]] = {p["serviceType"][0]["text"] for p in proposals}
            starts = {local_time(p["start"]) for p in proposals}
            assert min(starts) >= time(8, 0)
            assert max(starts) <= time(16, 10)
            assert not {s for s in starts if time(11, 40) <= s < time(13, 30)}
    # Dermatology's times come from its doctor's template, made by a job of the running
    # service; the laboratory (检验科) is not booked.
    assert services == {"市第一人民医院": {"心内科", "儿科"}, "市中心医院": {"内分泌科", "眼科"}}


def test_the_citizens_results_with_a_trend_are_released(city: City) -> None:
    with city.api("mei") as api:
        patient = one_id(api, "Patient", "pat-mei")
        listed = api.get(
            "/DiagnosticReport",
            params={"patient": patient, "_include": "DiagnosticReport:performer"},
        )
        reports = entries(listed)
        performers = entries(listed, "include")
        trend = entries(api.get("/Observation", params={"code": TREND, "_sort": "date"}))
    assert len(reports) == 6
    assert {r["status"] for r in reports} == {"final"}
    assert all(r["category"][0]["coding"][0]["system"] == LAB for r in reports)
    assert {p["name"] for p in performers} == {"市第一人民医院", "市中心医院"}
    assert [o["valueQuantity"]["value"] for o in trend] == [7.6, 7.1, 6.6, 6.2, 5.8]
    assert len({o["effectiveDateTime"] for o in trend}) == 5
    flags = [o["interpretation"][0]["coding"][0]["code"] for o in trend]
    assert flags == ["H", "H", "H", "H", "N"]
    assert all(o["referenceRange"][0]["high"]["value"] == 6.0 for o in trend)


def test_the_latest_follow_up_has_its_pdf(city: City) -> None:
    with city.api("mei") as api:
        reports = entries(api.get("/DiagnosticReport", params={"_sort": "-date"}))
        latest = reports[0]
        assert latest["code"]["text"] == "糖尿病随访检查"
        related = {"related": f"DiagnosticReport/{latest['id']}"}
        documents = entries(api.get("/DocumentReference", params=related))
        assert len(documents) == 1
        attachment = documents[0]["content"][0]["attachment"]
        assert attachment["contentType"] == "application/pdf"
        assert re.fullmatch(r"Binary/[A-Za-z0-9.-]+", attachment["url"])
        pdf = api.get(f"/{attachment['url']}", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4\n")
    assert pdf.content.endswith(b"%%EOF\n")
    assert b"HbA1c: 5.8 %" in pdf.content


def test_past_visits_are_fulfilled_and_coming_ones_booked(city: City) -> None:
    now = clock.now()
    with city.api("mei") as api:
        patient = one_id(api, "Patient", "pat-mei")
        visits = entries(api.get("/Appointment", params={"patient": patient, "_sort": "date"}))
        past = [v for v in visits if datetime.fromisoformat(v["start"]) < now]
        coming = [v for v in visits if datetime.fromisoformat(v["start"]) > now]
        slot = api.get(f"/{past[0]['slot'][0]['reference']}")
    assert [v["status"] for v in past] == ["fulfilled"] * 3
    assert [v["status"] for v in coming] == ["booked"] * 2
    assert slot.json()["status"] == "busy"
    kinds = [
        sorted(p["actor"]["reference"].split("/")[0] for p in v["participant"]) for v in visits
    ]
    assert kinds == [["Location", "Patient", "Practitioner"]] * 5


def day_bounds(day: date) -> list[str]:
    zone = ZoneInfo(ZONE)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = start + timedelta(days=1)
    return [f"ge{start:%Y-%m-%dT%H:%M:%SZ}", f"lt{end:%Y-%m-%dT%H:%M:%SZ}"]


def test_the_cardiologists_day_is_full(city: City) -> None:
    with city.api("dr.wang") as api:
        doctor = one_id(api, "Practitioner", "dr-wang")
        day = api.get(
            "/Appointment",
            params={
                "practitioner": doctor,
                "date": day_bounds(city.today),
                "_include": "Appointment:patient",
                "_sort": "date",
            },
        )
    visits, patients = entries(day), entries(day, "include")
    assert [v["status"] for v in visits] == ["booked"] * 6
    assert [local_time(v["start"]) for v in visits][:2] == [time(8, 0), time(8, 40)]
    assert all(v["reasonCode"][0]["text"] for v in visits)
    assert {p["name"][0]["family"] + p["name"][0]["given"][0] for p in patients} == {
        "张秀英",
        "刘强",
        "李建国",
        "黄丽",
        "赵磊",
        "周杰",
    }


@contextmanager
def signed_in(city: City, username: str) -> Iterator[httpx.Client]:
    """A browser signed in through the app's own sign-in."""
    with httpx.Client(base_url=city.server.url, timeout=30) as browser:
        start = browser.get("/app/signin")
        assert start.status_code == 303, start.text
        done = finish_sign_in(browser, start, username, city.password(username))
        assert (done.status_code, done.headers["location"]) == (303, "/app/")
        yield browser


def page(browser: httpx.Client, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, (path, response.text)
    return response.text


def test_the_app_shows_the_demo_to_its_citizen_and_doctor(city: City) -> None:
    with signed_in(city, "mei") as browser:
        assert "王芳" in page(browser, "/app/")
        found = page(browser, "/app/find")
        assert "市第一人民医院" in found
        assert "市中心医院" in found
        in_english = browser.get("/app/find", headers={"Accept-Language": "en"}).text
        assert "City Central Hospital" in in_english
        hospital = re.findall(r'href="(/app/find/hospitals/[^"]+)"', found)[0]
        assert re.search("心内科|内分泌科", page(browser, hospital))
        results = page(browser, "/app/results")
        report = re.findall(r'href="/app/results/([A-Za-z0-9.-]+)"', results)[0]
        assert "糖化血红蛋白" in page(browser, f"/app/results/{report}")
        pdf = browser.get(f"/app/results/{report}/pdf")
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF-")
    with signed_in(city, "dr.wang") as browser:
        day = page(browser, f"/app/day?date={city.today}")
        assert all(shown in day for shown in ("张秀英", "周杰", "高血压复诊"))
