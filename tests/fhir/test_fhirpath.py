"""Search expressions compiled to direct JSON walks, with fhirpathpy for the rest."""

from medsvc.fhir.fhirpath import compile_expression, split_union


def values(expression: str, resource: dict) -> list:
    extract = compile_expression(expression, resource["resourceType"])
    assert extract is not None
    return [v for v, _type in extract(resource)]


OBS = {
    "resourceType": "Observation",
    "valueQuantity": {"value": 1},
    "subject": {"reference": "Patient/1"},
    "effectivePeriod": {"start": "2024"},
    "component": [{"valueCodeableConcept": {"text": "c"}}],
}


def test_union_split_respects_parentheses() -> None:
    assert split_union("(A.b as X) | A.c | (A.d as Y).e") == ["(A.b as X)", "A.c", "(A.d as Y).e"]


def test_choice_types_and_casts() -> None:
    assert values("Observation.effective", OBS) == [{"start": "2024"}]
    assert values("(Observation.value as Quantity) | (Observation.value as SampledData)", OBS) == [
        {"value": 1}
    ]
    assert values("(Observation.value as CodeableConcept)", OBS) == []
    assert values("(Observation.component.value as CodeableConcept).text", OBS) == ["c"]
    assert values("Observation.value.ofType(Quantity)", OBS) == [{"value": 1}]


def test_only_parts_of_the_type_apply() -> None:
    expression = (
        "DiagnosticReport.subject.where(resolve() is Patient)"
        " | Observation.subject.where(resolve() is Patient)"
    )
    assert values(expression, OBS) == [{"reference": "Patient/1"}]
    assert compile_expression("Patient.name", "Observation") is None


def test_resolve_is_filters_by_reference_type() -> None:
    group = {**OBS, "subject": {"reference": "Group/1"}}
    assert values("Observation.subject.where(resolve() is Patient)", group) == []


def test_where_exists_and_extension_patterns() -> None:
    patient = {"resourceType": "Patient", "deceasedDateTime": "2020"}
    assert values("Patient.deceased.exists() and Patient.deceased != false", patient) == [True]
    phones = {
        "resourceType": "Patient",
        "telecom": [{"system": "phone", "value": "1"}, {"system": "email", "value": "e"}],
    }
    assert values("Patient.telecom.where(system='phone')", phones) == [
        {"system": "phone", "value": "1"}
    ]


def test_extension_values() -> None:
    url = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"
    patient = {
        "resourceType": "Patient",
        "extension": [{"url": url, "valueString": "Laine"}, {"url": "other", "valueString": "x"}],
    }
    assert values(f"Patient.extension('{url}')", patient) == ["Laine"]


def test_fallback_to_fhirpathpy() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"use": "official", "given": ["Aino", "Maria"]}, {"given": ["Ami"]}],
    }
    assert values("Patient.name.where(use='official').given.first()", patient) == ["Aino"]
