"""Which language a citizen's notices are in: their Patient.communication (the preferred
language first), any Chinese in Simplified Chinese, else the city's default, Chinese; a
communication not as FHIR describes it falls back to the default without an error."""

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from medsvc.fhir import jsonio
from medsvc.fhir.store import RESOURCE
from medsvc.notify.language import DEFAULT, recipient_locale
from tests.conftest import Backend
from tests.factories import FHIR_JSON, patient

BCP_47 = "urn:ietf:bcp:47"


def speaks(code: str, preferred: bool | None = None, system: str = BCP_47) -> dict[str, Any]:
    entry: dict[str, Any] = {"language": {"coding": [{"system": system, "code": code}]}}
    if preferred is not None:
        entry["preferred"] = preferred
    return entry


def add_patient(client: httpx.Client, **extra: Any) -> str:
    response = client.post("/Patient", json=patient(**extra), headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def locale_of(backend: Backend, patient_id: str) -> str:
    with backend.database.session(write=False) as session:
        return recipient_locale(session, patient_id)


def store_around_validation(backend: Backend, patient_id: str, communication: Any) -> None:
    """A current Patient the API would refuse, as an older release or a bug could leave it
    (written straight to the row: neither validated nor indexed)."""
    broken = {**patient(), "id": patient_id, "communication": communication}
    with backend.database.session(write=True) as session:
        session.execute(
            update(RESOURCE)
            .where(RESOURCE.c.resource_type == "Patient", RESOURCE.c.id == patient_id)
            .values(content=jsonio.dumps(broken))
        )


@pytest.mark.parametrize(
    ("communication", "locale"),
    [
        ([speaks("en")], "en"),
        ([speaks("en-GB")], "en"),
        ([speaks("EN-us")], "en"),
        ([speaks("zh-CN")], "zh_Hans_CN"),
        ([speaks("zh")], "zh_Hans_CN"),
        ([speaks("zh-Hant-TW")], "zh_Hans_CN"),  # the only Chinese the notices have
        ([speaks("zh-CN"), speaks("en", preferred=True)], "en"),
        ([speaks("en"), speaks("zh-CN", preferred=True)], "zh_Hans_CN"),
        ([speaks("en", preferred=False), speaks("zh-CN")], "en"),  # else the first
        ([speaks("fi", preferred=True), speaks("en")], "en"),  # the first we write in
        ([speaks("fi")], DEFAULT),
        ([speaks("eng", system="urn:iso:std:iso:639:2")], DEFAULT),  # not BCP 47
        ([{"language": {"coding": [{"code": "en"}]}}], "en"),  # BCP 47, as the binding says
        ([{"language": {"text": "English"}}], DEFAULT),
    ],
)
def test_the_language_is_the_patients_communication(
    client: httpx.Client, clean: Backend, communication: list[dict[str, Any]], locale: str
) -> None:
    patient_id = add_patient(client, communication=communication)
    assert locale_of(clean, patient_id) == locale


def test_no_communication_or_no_patient_gets_the_default(
    client: httpx.Client, clean: Backend
) -> None:
    assert DEFAULT == "zh_Hans_CN"
    assert locale_of(clean, add_patient(client)) == DEFAULT
    assert locale_of(clean, "no-such-patient") == DEFAULT
    gone = add_patient(client, communication=[speaks("en")])
    assert client.delete(f"/Patient/{gone}").status_code == 204
    assert locale_of(clean, gone) == DEFAULT


def test_the_citizens_own_change_is_honoured_at_once(client: httpx.Client, clean: Backend) -> None:
    patient_id = add_patient(client)
    assert locale_of(clean, patient_id) == DEFAULT
    changed = {**patient(), "id": patient_id, "communication": [speaks("en", preferred=True)]}
    response = client.put(f"/Patient/{patient_id}", json=changed, headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert locale_of(clean, patient_id) == "en"


@pytest.mark.parametrize(
    "communication",
    [
        {"language": {"coding": [{"system": BCP_47, "code": "en"}]}},  # not a list
        "en",
        [None, 5, "en"],
        [{"language": "en"}],
        [{"language": {"coding": {"system": BCP_47, "code": "en"}}}],
        [{"language": {"coding": [{"system": BCP_47, "code": 7}]}}],
        [{"language": {"coding": [{"system": 5, "code": "en"}]}}],
        [{"language": {"coding": ["en", None]}}],
        [{"language": {}}, {"preferred": True}],
        [{"language": {"coding": [{"system": BCP_47, "code": ""}]}, "preferred": "yes"}],
    ],
)
def test_a_malformed_communication_falls_back_to_the_default(
    client: httpx.Client, clean: Backend, communication: Any
) -> None:
    patient_id = add_patient(client, communication=[speaks("en")])
    store_around_validation(clean, patient_id, communication)
    assert locale_of(clean, patient_id) == DEFAULT
