"""The demo citizen's released lab results: HbA1c's trend in five reports, a blood count, a PDF."""

import base64
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from medsvc.cli import demo_pdf
from medsvc.cli.demo_bundle import (
    SYSTEM,
    Entries,
    Resource,
    concept,
    english,
    instant,
    local,
    ref,
    weekday_from,
)
from medsvc.cli.demo_city import CENTRAL, FIRST, Hospital

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LAB = concept(
    "检验", "Laboratory", ("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")
)
OBSERVATION_LAB = concept(
    "检验",
    "Laboratory",
    ("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", "Laboratory"),
)
FLAGS = {"H": "High", "L": "Low", "N": "Normal"}
PATIENT, PATIENT_NAME = "pat-mei", "Li Mei"  # whose results they are


@dataclass(frozen=True)
class Test:
    loinc: str
    display: str  # LOINC's long name
    chinese: str
    english: str
    unit: str  # as shown
    ucum: str
    low: float
    high: float

    def code(self) -> Resource:
        return concept(self.chinese, self.english, (LOINC, self.loinc, self.display))

    def quantity(self, value: float) -> Resource:
        return {"value": value, "unit": self.unit, "system": UCUM, "code": self.ucum}

    def flag(self, value: float) -> str:
        return "L" if value < self.low else "H" if value > self.high else "N"


HBA1C = Test(
    "4548-4",
    "Hemoglobin A1c/Hemoglobin.total in Blood",
    "糖化血红蛋白",
    "HbA1c",
    "%",
    "%",
    4.0,
    6.0,
)
GLUCOSE = Test(
    "14771-0",
    "Fasting glucose [Moles/volume] in Serum or Plasma",
    "空腹血糖",
    "Fasting glucose",
    "mmol/L",
    "mmol/L",
    3.9,
    6.1,
)
CHOLESTEROL = Test(
    "14647-2",
    "Cholesterol [Moles/volume] in Serum or Plasma",
    "总胆固醇",
    "Total cholesterol",
    "mmol/L",
    "mmol/L",
    2.8,
    5.2,
)
CREATININE = Test(
    "14682-9",
    "Creatinine [Moles/volume] in Serum or Plasma",
    "肌酐",
    "Creatinine",
    "µmol/L",
    "umol/L",
    41,
    81,
)
HAEMOGLOBIN = Test(
    "718-7", "Hemoglobin [Mass/volume] in Blood", "血红蛋白", "Haemoglobin", "g/L", "g/L", 115, 150
)
LEUKOCYTES = Test(
    "6690-2",
    "Leukocytes [#/volume] in Blood by Automated count",
    "白细胞计数",
    "White cell count",
    "10^9/L",
    "10*9/L",
    3.5,
    9.5,
)
PLATELETS = Test(
    "777-3",
    "Platelets [#/volume] in Blood by Automated count",
    "血小板计数",
    "Platelet count",
    "10^9/L",
    "10*9/L",
    125,
    350,
)
FOLLOW_UP = concept(
    "糖尿病随访检查", "Diabetes follow-up tests", (LOINC, "11502-2", "Laboratory report")
)
BLOOD_COUNT = concept(
    "血常规", "Complete blood count", (LOINC, "58410-2", "CBC panel - Blood by Automated count")
)
# The follow-ups' values, oldest first: each column is one report, a month apart.
FOLLOW_UPS = {
    HBA1C: (7.6, 7.1, 6.6, 6.2, 5.8),
    GLUCOSE: (8.2, 7.6, 7.0, 6.4, 5.9),
    CHOLESTEROL: (5.9, 5.6, 5.4, 5.1, 4.8),
    CREATININE: (68, 71, 66, 70, 69),
}
FOLLOW_UP_DAYS = (119, 91, 63, 35, 7)  # days before the first load
BLOOD_COUNT_VALUES = {HAEMOGLOBIN: 112, LEUKOCYTES: 6.2, PLATELETS: 238}
BLOOD_COUNT_DAYS = 14


@dataclass(frozen=True)
class Report:
    key: str
    code: Resource
    hospital: Hospital
    day: date
    values: dict[Test, float]
    conclusion: tuple[str, str] | None = None  # Chinese, English


def _observation(
    entries: Entries, report: Report, test: Test, value: float, timing: Resource
) -> dict[str, str]:
    flag = test.flag(value)
    interpretation = {"coding": [{"system": INTERPRETATION, "code": flag, "display": FLAGS[flag]}]}
    return entries.add(
        f"{report.key}-{test.loinc}",
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [OBSERVATION_LAB],
            "code": test.code(),
            **timing,
            "performer": [ref(report.hospital.key)],
            "valueQuantity": test.quantity(value),
            "interpretation": [interpretation],
            "referenceRange": [{"low": test.quantity(test.low), "high": test.quantity(test.high)}],
        },
    )


def _report(entries: Entries, report: Report, patient: str, zone: ZoneInfo) -> None:
    timing: Resource = {
        "subject": ref(patient),
        "effectiveDateTime": local(report.day, 8, 30, zone).isoformat(),
        "issued": instant(local(report.day, 15, 0, zone)),
    }
    results = [_observation(entries, report, t, v, timing) for t, v in report.values.items()]
    resource: Resource = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [LAB],
        "code": report.code,
        **timing,
        "performer": [ref(report.hospital.key)],
        "result": results,
    }
    if report.conclusion:
        resource["conclusion"] = report.conclusion[0]
        resource["_conclusion"] = english(report.conclusion[1])
    entries.add(report.key, resource)


def _conclusion(hba1c: float) -> tuple[str, str]:
    if HBA1C.flag(hba1c) == "H":
        return (
            "糖化血红蛋白仍高于参考范围，较上次下降，请继续用药，按时复诊。",
            "HbA1c is still above the range and lower than last time; keep taking the "
            "medicine and come to the next follow-up.",
        )
    return ("糖化血红蛋白已回到参考范围内。", "HbA1c is back within the range.")


def reports(today: date) -> list[Report]:
    found = [
        Report(
            f"report-mei-follow-up-{n}",
            FOLLOW_UP,
            CENTRAL,
            weekday_from(today - timedelta(days=days), -1),
            {test: values[n - 1] for test, values in FOLLOW_UPS.items()},
            _conclusion(FOLLOW_UPS[HBA1C][n - 1]),
        )
        for n, days in enumerate(FOLLOW_UP_DAYS, start=1)
    ]
    blood = weekday_from(today - timedelta(days=BLOOD_COUNT_DAYS), -1)
    found.append(Report("report-mei-blood-count", BLOOD_COUNT, FIRST, blood, BLOOD_COUNT_VALUES))
    return found


def _pdf(report: Report) -> bytes:
    lines = [
        f"{report.hospital.english} - Laboratory report (medsvc demo)",
        f"Patient: {PATIENT_NAME}    Taken: {report.day.isoformat()}",
        "",
        *(
            f"{test.english}: {value:g} {test.ucum}   range {test.low:g} - {test.high:g}"
            for test, value in report.values.items()
        ),
    ]
    return demo_pdf.one_page(lines)


def _document(entries: Entries, report: Report, patient: str, zone: ZoneInfo) -> None:
    """The report's PDF: its DocumentReference, then the Binary whose security context it is
    (the Binary is sealed under the document's patient, so the document is written first)."""
    key, binary_key = f"doc-{report.key}", f"pdf-{report.key}"
    entries.add(
        key,
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "docStatus": "final",
            "type": report.code,
            "subject": ref(patient),
            "date": instant(local(report.day, 15, 0, zone)),
            "custodian": ref(report.hospital.key),
            "description": "检验报告单",
            "_description": english("Laboratory report"),
            "context": {"related": [ref(report.key)]},
            "content": [
                {
                    "attachment": {
                        "contentType": "application/pdf",
                        "url": ref(binary_key)["reference"],
                    }
                }
            ],
        },
    )
    binary = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "securityContext": ref(key),
        "data": base64.b64encode(_pdf(report)).decode(),
    }
    # A Binary has no identifier: it is found through the document it belongs to.
    entries.add(binary_key, binary, f"securitycontext:DocumentReference.identifier={SYSTEM}|{key}")


def add_results(entries: Entries, today: date, zone: ZoneInfo) -> None:
    """The citizen's reports with their observations, and the latest follow-up's PDF. They
    are dated back from the day of the first load: a later load finds them by their keys."""
    found = reports(today)
    for report in found:
        _report(entries, report, PATIENT, zone)
    latest = max((r for r in found if r.code is FOLLOW_UP), key=lambda r: r.day)
    _document(entries, latest, PATIENT, zone)
