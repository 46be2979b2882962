"""Regenerates fhir_profiles/ and tests/fhir_examples/ from the HL7 R4B npm packages.

Usage: python scripts/import_fhir_definitions.py CORE_DIR EXAMPLES_DIR
where the directories are the unpacked `package/` folders of hl7.fhir.r4b.core@4.3.0 and
hl7.fhir.r4b.examples@4.3.0 (`npm pack NAME@4.3.0`; both CC0-1.0).
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "fhir_profiles"
EXAMPLES = ROOT / "tests" / "fhir_examples"

TYPES = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "HealthcareService",
    "Schedule",
    "Slot",
    "Appointment",
    "AppointmentResponse",
    "ServiceRequest",
    "Specimen",
    "DiagnosticReport",
    "Observation",
    "DocumentReference",
    "Communication",
    "Provenance",
    "AuditEvent",
    "Subscription",
    "Binary",
    "CareTeam",
    "RelatedPerson",
]
INDEXED_TYPES = {"token", "string", "date", "reference", "quantity", "number", "uri"}
COMMON_PARAMS = {
    "Resource-id",
    "Resource-lastUpdated",
    "Resource-tag",
    "Resource-profile",
    "Resource-security",
    "Resource-source",
}
GENERIC_CONSTRAINTS = ("ele-", "dom-", "ext-", "txt-")
# Errata applied to the R4B text, each fixed the same way in R5.
ERRATA = {
    "app-4": ("'no-show'", "'noshow'"),
}
SEARCH_PARAM_KEYS = [
    "resourceType",
    "id",
    "url",
    "version",
    "name",
    "status",
    "description",
    "code",
    "base",
    "type",
    "expression",
    "target",
    "multipleOr",
    "multipleAnd",
    "comparator",
    "modifier",
    "chain",
]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def import_search_parameters(core: Path) -> None:
    for source in sorted(core.glob("SearchParameter-*.json")):
        sp = load(source)
        base = [b for b in sp.get("base", []) if b in TYPES or sp["id"] in COMMON_PARAMS]
        if not base or sp["type"] not in INDEXED_TYPES or not sp.get("expression"):
            continue
        kept = {k: sp[k] for k in SEARCH_PARAM_KEYS if k in sp}
        kept["base"] = base
        if "target" in kept and sp["id"] not in COMMON_PARAMS:
            kept["target"] = sorted(kept["target"])
        write(PROFILES / "SearchParameter" / f"{sp['id']}.json", kept)


def trim_element(element: dict) -> dict:
    kept = {k: element[k] for k in ("id", "path", "min", "max", "contentReference") if k in element}
    if "type" in element:
        kept["type"] = [{"code": t["code"]} for t in element["type"]]
    binding = element.get("binding")
    if binding and binding.get("strength") == "required":
        kept["binding"] = {"strength": "required", "valueSet": binding["valueSet"]}
    constraints = []
    for c in element.get("constraint", []):
        if c["key"].startswith(GENERIC_CONSTRAINTS) or c["severity"] != "error":
            continue
        if "resolve()" in c["expression"]:  # needs the resource referred to: not enforced
            continue
        expression = c["expression"]
        if c["key"] in ERRATA:
            expression = expression.replace(*ERRATA[c["key"]])
        constraints.append(
            {
                "key": c["key"],
                "severity": c["severity"],
                "human": c["human"],
                "expression": expression,
            }
        )
    if constraints:
        kept["constraint"] = constraints
    return kept


def import_structure_definitions(core: Path) -> set[str]:
    value_sets = set()
    for name in TYPES:
        sd = load(core / f"StructureDefinition-{name}.json")
        elements = [trim_element(e) for e in sd["snapshot"]["element"]]
        for e in elements:
            if "binding" in e and any(t["code"] == "code" for t in e.get("type", [])):
                value_sets.add(e["binding"]["valueSet"].split("|")[0])
        kept = {
            k: sd[k]
            for k in (
                "resourceType",
                "id",
                "url",
                "version",
                "name",
                "status",
                "fhirVersion",
                "kind",
                "abstract",
                "type",
                "baseDefinition",
                "derivation",
            )
        }
        kept["snapshot"] = {"element": elements}
        write(PROFILES / "StructureDefinition" / f"{name}.json", kept)
    return value_sets


def concepts(code_system: dict) -> list[dict]:
    found: list[dict] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            found.append(
                {
                    "system": code_system["url"],
                    "code": item["code"],
                    "display": item.get("display", item["code"]),
                }
            )
            walk(item.get("concept", []))

    walk(code_system.get("concept", []))
    return found


def import_value_sets(core: Path, urls: set[str]) -> None:
    systems = {}
    for source in core.glob("CodeSystem-*.json"):
        cs = load(source)
        systems[cs["url"]] = cs
    by_url = {}
    for source in core.glob("ValueSet-*.json"):
        vs = load(source)
        by_url[vs["url"]] = vs
    for url in sorted(urls):
        vs = by_url[url]
        contains = []
        enumerable = True
        for include in vs["compose"]["include"]:
            if "concept" in include:
                contains += [
                    {
                        "system": include["system"],
                        "code": c["code"],
                        "display": c.get("display", c["code"]),
                    }
                    for c in include["concept"]
                ]
            elif include.get("system") in systems and "filter" not in include:
                contains += concepts(systems[include["system"]])
            else:
                enumerable = False
        if not enumerable:
            print(f"not enumerable, binding not enforced: {url}")
            continue
        kept = {k: vs[k] for k in ("resourceType", "id", "url", "version", "name", "status")}
        kept["expansion"] = {"timestamp": "2022-05-28T12:47:40+10:00", "contains": contains}
        write(PROFILES / "ValueSet" / f"{vs['id']}.json", kept)


def import_operations(core: Path) -> None:
    op = load(core / "OperationDefinition-Resource-validate.json")
    op.pop("text", None)
    write(PROFILES / "OperationDefinition" / "Resource-validate.json", op)


def import_examples(examples: Path) -> None:
    for source in sorted(examples.glob("*.json")):
        if source.name.split("-")[0] in TYPES:
            resource = load(source)
            if resource.get("resourceType") in TYPES:
                write(EXAMPLES / source.name, resource)


def main() -> None:
    core, examples = Path(sys.argv[1]), Path(sys.argv[2])
    import_search_parameters(core)
    import_value_sets(core, import_structure_definitions(core))
    import_operations(core)
    import_examples(examples)


if __name__ == "__main__":
    main()
