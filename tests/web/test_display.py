"""FHIR data as the app shows it: names translated with FHIR's translation extension into the
person's language, and the original kept when the translation is missing or malformed."""

from typing import Any

import httpx
import orjson
import pytest

from medsvc.web.display import TRANSLATION, has_next, read_json
from tests.factories import FHIR_JSON
from tests.web.conftest import People, signed_in


def translated(**contents: str) -> dict[str, Any]:
    return {
        "extension": [
            {
                "url": TRANSLATION,
                "extension": [
                    {"url": "lang", "valueCode": lang},
                    {"url": "content", "valueString": content},
                ],
            }
            for lang, content in contents.items()
        ]
    }


HOSPITAL = {
    "resourceType": "Organization",
    "name": "市第一人民医院",
    "_name": translated(en="City First Hospital"),
}


@pytest.mark.parametrize(
    ("language", "name"),
    [("en", "City First Hospital"), ("en-GB", "City First Hospital"), ("zh-CN", "市第一人民医院")],
)
def test_a_name_is_shown_in_the_persons_language(language: str, name: str) -> None:
    assert read_json(orjson.dumps(HOSPITAL), language)["name"] == name


def test_translations_are_found_inside_lists_and_concepts() -> None:
    concept = {"text": "心内科", "_text": translated(en="Cardiology")}
    bundle = {"entry": [{"resource": {"serviceType": [concept]}}]}
    shown = read_json(orjson.dumps(bundle), "en")
    assert shown["entry"][0]["resource"]["serviceType"][0]["text"] == "Cardiology"
    assert shown["entry"][0]["resource"]["serviceType"][0]["_text"] == concept["_text"]


def test_an_answer_without_translations_is_read_as_it_is() -> None:
    bundle = {"entry": [{"resource": {"name": "市第一人民医院", "_name": {"id": "n"}}}]}
    assert read_json(orjson.dumps(bundle), "en") == bundle


@pytest.mark.parametrize(
    "element",
    [
        "not an element",
        {"extension": "not a list"},
        {"extension": [None, 3, {"url": TRANSLATION}]},
        {"extension": [{"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": "en"}]}]},
        {"extension": [{"url": "urn:other", "extension": translated(en="X")["extension"]}]},
        translated(en="   "),
        translated(fr="Hôpital"),
        {
            "extension": [
                {
                    "url": TRANSLATION,
                    "extension": [
                        {"url": "lang", "valueCode": "en"},
                        {"url": "content", "valueString": ["a list"]},
                    ],
                }
            ]
        },
    ],
)
def test_a_missing_or_malformed_translation_keeps_the_name(element: Any) -> None:
    named = {"name": "市第一人民医院", "_name": element}
    assert read_json(orjson.dumps(named), "en")["name"] == "市第一人民医院"


def test_the_find_page_names_hospitals_in_the_chosen_language(
    browser: httpx.Client, client: httpx.Client, people: People
) -> None:
    created = client.post("/Organization", json=HOSPITAL, headers=FHIR_JSON)
    assert created.status_code == 201
    signed_in(browser, "mei")
    english = browser.get("/app/find", headers={"Accept-Language": "en"}).text
    chinese = browser.get("/app/find", headers={"Accept-Language": "zh-CN"}).text
    assert "City First Hospital" in english
    assert "市第一人民医院" not in english
    assert "市第一人民医院" in chinese
    assert "City First Hospital" not in chinese


@pytest.mark.parametrize(
    ("links", "more"),
    [
        ([{"relation": "self", "url": "x"}, {"relation": "next", "url": "y"}], True),
        ([{"relation": "self", "url": "x"}], False),
        (None, False),
        (["next", None, {"relation": ["next"]}], False),
    ],
)
def test_a_search_has_a_further_page_only_with_a_next_link(links: Any, more: bool) -> None:
    assert has_next({"resourceType": "Bundle", "link": links}) is more
