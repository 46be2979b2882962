"""Each route's restful-interaction code, as the audit trail records it."""

import pytest

from medsvc.fhir.router import interaction


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        ("GET", "", "search-system"),
        ("GET", "Patient", "search-type"),
        ("POST", "Patient/_search", "search-type"),
        ("GET", "Patient/1", "read"),
        ("GET", "Patient/1/_history/2", "vread"),
        ("GET", "Patient/1/_history", "history-instance"),
        ("GET", "Patient/_history", "history-type"),
        ("POST", "", "transaction"),
        ("POST", "Patient", "create"),
        ("PUT", "Patient/1", "update"),
        ("PUT", "Patient", "update"),
        ("PATCH", "Patient/1", "patch"),
        ("DELETE", "Patient/1", "delete"),
        ("DELETE", "Patient", "delete"),
        ("POST", "Patient/$validate", "operation"),
        ("GET", "Patient/1/$validate", "operation"),
    ],
)
def test_interaction_codes(method: str, path: str, code: str) -> None:
    assert interaction(method, [s for s in path.split("/") if s]) == code
