"""Quantity search (search.html#quantity) in the generic FHIR layer, on the definitions as
declared: this server indexes no quantity of its own types (the results' values are sealed
and not indexed), so the layer is tested directly, without the results domain."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from medsvc.db import Database
from medsvc.errors import MedsvcError
from medsvc.fhir import jsonio
from medsvc.fhir.definitions import get_definitions
from medsvc.fhir.registry import Registry
from medsvc.fhir.router import FhirRequest, dispatch
from medsvc.fhir.server import FhirServer
from medsvc.security.context import OPEN_CONTEXT
from tests.conftest import Backend
from tests.factories import observation

UCUM = "http://unitsofmeasure.org"


@pytest.fixture
def server(clean: Backend) -> FhirServer:
    return FhirServer(clean.settings.base_url, get_definitions(), Registry())


@pytest.fixture
def database(clean: Backend) -> Iterator[Database]:
    """A database of its own: the app's carries the results' sealer, which this layer lacks."""
    database = Database(clean.settings)
    yield database
    database.dispose()


def created(server: FhirServer, database: Database, value: float) -> str:
    body = jsonio.loads(jsonio.dumps(observation("Patient/1", value=value)))  # as parsed off HTTP
    request = FhirRequest("POST", "Observation", body=body)
    with database.session(write=True) as session:
        result = dispatch(server, session, OPEN_CONTEXT, request)
    assert result.status == 201
    assert result.stored is not None
    return result.stored.id


def found(server: FhirServer, database: Database, value: str) -> set[str]:
    request = FhirRequest("GET", "Observation", query=[("value-quantity", value)], strict=True)
    with database.session(write=False) as session:
        result = dispatch(server, session, OPEN_CONTEXT, request)
    assert result.status == 200
    bundle: dict[str, Any] = json.loads(result.body or b"{}")
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def test_quantity_prefixes_systems_units_and_precision(
    server: FhirServer, database: Database
) -> None:
    low, high = created(server, database, 0.8), created(server, database, 2.4)
    assert found(server, database, "gt1") == {high}
    assert found(server, database, "0.8") == {low}
    assert found(server, database, f"2.4|{UCUM}|mg/dL") == {high}
    assert found(server, database, "2.4||mg/dL") == {high}
    assert found(server, database, f"2.4|{UCUM}|g/L") == set()
    assert found(server, database, "le2.4") == {low, high}
    assert found(server, database, "2") == {high}  # 2 stands for [1.5, 2.5)
    assert found(server, database, "2.0") == set()


@pytest.mark.parametrize("value", ["abc", "1e999", "gt"])
def test_bad_quantities_are_400(server: FhirServer, database: Database, value: str) -> None:
    request = FhirRequest("GET", "Observation", query=[("value-quantity", value)])
    with database.session(write=False) as session, pytest.raises(MedsvcError) as raised:
        dispatch(server, session, OPEN_CONTEXT, request)
    assert raised.value.status == 400
