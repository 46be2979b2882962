"""What the checks every written body now passes cost, beside the validation it always had:
a lab's push (a DiagnosticReport and 20 Observations, results_bundles.push) and one Patient,
in one process, as CPU time per body (median of several runs).

The baseline is in the same run: parsing the body (jsonio.loads) and validating its
resources against the R4B models (validation.find_issues, the JSON type check included).
The checks beside it are the bounded walk of the body (limits.check), the JSON type check on
its own (json_types.type_issues, part of validation) and the reference grammar
(references.find_issues). Checks made in SQL (compartments, the care relationship) are paid
in the request's statements and are not measured here.

    .venv/bin/python bench/checks_bench.py [--runs 7] [--iterations 200]
"""

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from page import write_marked
from results_bundles import FIRST_TAKEN, push

from medsvc.fhir import json_types, jsonio, limits, references, validation

BASE = "https://medsvc.example/fhir"
PARSE, VALIDATE = "parse (jsonio.loads)", "validate (R4B models, JSON types included)"
PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
START, END = "<!-- checks:start -->", "<!-- checks:end -->"


def lab_push() -> bytes:
    """The lab's Bundle with its references as a transaction leaves them for the checks:
    the patient found and the Observations' placeholders replaced by their ids."""
    bundle = push("010180-00001", "R-1", FIRST_TAKEN)
    for n, entry in enumerate(bundle["entry"]):
        resource = entry["resource"]
        resource["subject"] = {"reference": "Patient/p1"}
        if resource["resourceType"] == "DiagnosticReport":
            resource["result"] = [{"reference": f"Observation/o{i}"} for i in range(n)]
    return jsonio.dumps(bundle)


def one_patient() -> bytes:
    return jsonio.dumps(
        {
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:1.2.246.21", "value": "010180-00001"}],
            "name": [{"family": "Virtanen", "given": ["Aino", "Maria"]}],
            "telecom": [{"system": "phone", "value": "+358 40 123 4567"}],
            "gender": "female",
            "birthDate": "1980-01-01",
            "managingOrganization": {"reference": "Organization/o1"},
        }
    )


def resources_of(body: Any) -> list[dict[str, Any]]:
    if body.get("resourceType") == "Bundle":
        return [entry["resource"] for entry in body["entry"]]
    return [body]


def steps(raw: bytes) -> dict[str, Callable[[], object]]:
    parsed = jsonio.loads(raw)
    resources = resources_of(parsed)
    bounds = limits.Limits()
    return {
        PARSE: lambda: jsonio.loads(raw),
        VALIDATE: lambda: [validation.find_issues(r) for r in resources],
        "bounded walk (limits.check)": lambda: limits.check(parsed, bounds),
        "JSON types alone (json_types.type_issues)": lambda: [
            json_types.type_issues(r) for r in resources
        ],
        "reference grammar (references.find_issues)": lambda: [
            references.find_issues(r, BASE) for r in resources
        ],
    }


def cpu_per_call(step: Callable[[], object], iterations: int) -> float:
    """CPU seconds per call over a batch of calls."""
    step()  # first call: caches (models, compiled rules) as a served process has them
    started = time.process_time()
    for _ in range(iterations):
        step()
    return (time.process_time() - started) / iterations


def measure(raw: bytes, runs: int, iterations: int) -> dict[str, list[float]]:
    measured: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, step in steps(raw).items():
            measured.setdefault(name, []).append(cpu_per_call(step, iterations))
    return measured


def table(title: str, measured: dict[str, list[float]]) -> list[str]:
    medians = {name: statistics.median(values) for name, values in measured.items()}
    baseline = (
        medians["parse (jsonio.loads)"] + medians["validate (R4B models, JSON types included)"]
    )
    lines = [
        f"### {title}",
        "",
        "| step | µs of CPU per body (median) | runs' range | share of parse + validate |",
        "| --- | --- | --- | --- |",
    ]
    for name, values in measured.items():
        low, high = min(values) * 1e6, max(values) * 1e6
        share = medians[name] / baseline
        lines.append(
            f"| {name} | {medians[name] * 1e6:,.0f} | {low:,.0f}-{high:,.0f} | {share:.1%} |"
        )
    return [*lines, ""]


def section(results: list[tuple[str, dict[str, list[float]]]], runs: int, iterations: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        "## The checks every written body passes (`make bench-checks`)",
        "",
        "What the request-cost bounds, the JSON type check and the reference grammar cost per",
        "body, beside parsing and R4B validation (the baseline, measured in the same process",
        f"and run). {runs} runs of {iterations} calls each; CPU time (`time.process_time`);",
        f"{when}, Python {platform.python_version()}, {platform.machine()}. The SQL-side checks",
        "(compartments, the care relationship) are paid in the request's statements and are",
        "not measured here.",
        "",
    ]
    for title, measured in results:
        lines += table(title, measured)
    return "\n".join([*lines, END])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    results = [
        ("A lab's push: a DiagnosticReport and 20 Observations", lab_push()),
        ("One Patient", one_patient()),
    ]
    measured = [(title, measure(raw, args.runs, args.iterations)) for title, raw in results]
    text = section(measured, args.runs, args.iterations)
    print(text)
    write_marked(PAGE, text, START, END)


if __name__ == "__main__":
    main()
