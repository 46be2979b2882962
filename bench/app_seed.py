"""The app benchmark's data: a hospital (three departments, ten doctors with free times over the
next two weeks) and a citizen with an account and fifty lab reports, written in-process through
the FHIR layer as the platform (run_transaction, as bench/seed.py and the demo write theirs),
so that everything is validated, indexed and sealed, and the ledger and release hooks run."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from results_bundles import LOINC, OBSERVATION_CATEGORY, REPORT_CATEGORY, TESTS, UCUM

from medsvc import clock
from medsvc.assembly import fhir_server
from medsvc.config import Settings
from medsvc.db import Database
from medsvc.fhir import parse_bundle, run_transaction
from medsvc.security import accounts
from medsvc.security.context import platform_context

HOSPITAL = "Bench City Hospital"
SNOMED = "http://snomed.info/sct"
DEPARTMENTS = (
    ("394579002", "Cardiology"),
    ("394582007", "Dermatology"),
    ("394802001", "General medicine"),
)
DOCTORS = (
    ("Laine", "Sanna"),
    ("Koski", "Juha"),
    ("Virta", "Anna"),
    ("Heikkinen", "Mikko"),
    ("Salo", "Leena"),
    ("Rantanen", "Pekka"),
    ("Lehto", "Maria"),
    ("Aalto", "Jari"),
    ("Karjalainen", "Tiina"),
    ("Mattila", "Ville"),
)
SEARCHED = "Heikkinen"  # the name typed into find: one doctor has it
DAYS, SLOTS_PER_DAY, SLOT_MINUTES = 14, 24, 20
REPORTS = 50  # the citizen's, a week apart, newest first
TREND_CODE, TREND_REPORTS = "2345-7", 10  # glucose, measured in the ten newest reports
OTHER_CODES = ("2160-0", "718-7", "2951-2")  # the other reports' three results each
PANEL_CODE = "24323-8"
USERNAME, PASSWORD = "bench-citizen", "a long enough bench passphrase"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@dataclass(frozen=True)
class Seeded:
    hospital: str  # Organization id
    doctors: list[str]  # Practitioner ids, in DOCTORS' order
    searched: str  # the Practitioner id of the doctor named SEARCHED
    citizen: str  # Patient id of the account USERNAME
    reports: list[str]  # DiagnosticReport ids, newest first
    panel: str  # the newest report: all twenty results of TESTS
    slots: int
    first_slot: datetime


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}
    return {"fullUrl": full_url, **entry} if full_url else entry


def _concept(system: str, code: str, text: str | None = None) -> dict[str, Any]:
    concept: dict[str, Any] = {"coding": [{"system": system, "code": code}]}
    return {**concept, "text": text} if text else concept


def _directory() -> list[dict[str, Any]]:
    """The hospital, its outpatient clinic, the doctors with their roles and schedules (one
    department each), and the citizen."""
    entries = [
        _post({"resourceType": "Organization", "active": True, "name": HOSPITAL}, "urn:uuid:org"),
        _post(
            {
                "resourceType": "Location",
                "status": "active",
                "name": f"{HOSPITAL}, outpatients",
                "managingOrganization": {"reference": "urn:uuid:org"},
            },
            "urn:uuid:loc",
        ),
    ]
    for n, (family, given) in enumerate(DOCTORS):
        code, name = DEPARTMENTS[n % len(DEPARTMENTS)]
        doctor = f"urn:uuid:doctor-{n}"
        entries += [
            _post(
                {
                    "resourceType": "Practitioner",
                    "active": True,
                    "name": [{"family": family, "given": [given], "prefix": ["Dr."]}],
                },
                doctor,
            ),
            _post(
                {
                    "resourceType": "PractitionerRole",
                    "active": True,
                    "practitioner": {"reference": doctor},
                    "organization": {"reference": "urn:uuid:org"},
                    "specialty": [_concept(SNOMED, code, name)],
                }
            ),
            _post(
                {
                    "resourceType": "Schedule",
                    "active": True,
                    "actor": [{"reference": doctor}, {"reference": "urn:uuid:loc"}],
                    "serviceType": [_concept(SNOMED, code, name)],
                },
                f"urn:uuid:schedule-{n}",
            ),
        ]
    citizen = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"family": "Virtanen", "given": ["Aino"]}],
        "gender": "female",
        "birthDate": "1984-05-17",
    }
    return [*entries, _post(citizen, "urn:uuid:citizen")]


def _slots(schedule: str, department: int, first: datetime) -> list[dict[str, Any]]:
    """SLOTS_PER_DAY back to back from the hour of first, each day of DAYS."""
    code, name = DEPARTMENTS[department]
    starts = [
        first + timedelta(days=day, minutes=SLOT_MINUTES * n)
        for day in range(DAYS)
        for n in range(SLOTS_PER_DAY)
    ]
    return [
        _post(
            {
                "resourceType": "Slot",
                "status": "free",
                "schedule": {"reference": f"Schedule/{schedule}"},
                "serviceType": [_concept(SNOMED, code, name)],
                "start": _instant(start),
                "end": _instant(start + timedelta(minutes=SLOT_MINUTES)),
            }
        )
        for start in starts
    ]


def _observation(
    patient: str, taken: datetime, code: str, unit: str, typical: float, shift: float
) -> dict[str, Any]:
    """A result with its range (typical ± 20%) and its flag: high, low or normal."""
    value = round(typical * (1 + shift), 2)
    low, high = round(typical * 0.8, 2), round(typical * 1.2, 2)
    flag = "H" if value > high else "L" if value < low else "N"
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [_concept(OBSERVATION_CATEGORY, "laboratory")],
        "code": _concept(LOINC, code),
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": _instant(taken),
        "issued": _instant(taken + timedelta(hours=5)),
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "referenceRange": [
            {
                "low": {"value": low, "unit": unit, "system": UCUM, "code": unit},
                "high": {"value": high, "unit": unit, "system": UCUM, "code": unit},
            }
        ],
        "interpretation": [_concept(INTERPRETATION, flag)],
    }


def _report(patient: str, hospital: str, n: int, now: datetime) -> list[dict[str, Any]]:
    """Report n (0 the newest, a week apart): the full panel for the newest, three results for
    the others, glucose among them in the TREND_REPORTS newest."""
    taken = now - timedelta(days=7 * n + 1)
    units = {code: (unit, typical) for code, unit, typical in TESTS}
    if n == 0:
        codes = [code for code, _unit, _typical in TESTS]
    elif n < TREND_REPORTS:
        codes = [TREND_CODE, *OTHER_CODES[:2]]
    else:
        codes = list(OTHER_CODES)
    results = [
        _post(
            _observation(patient, taken, code, *units[code], shift=((n + i) % 7 - 3) / 10),
            f"urn:uuid:report-{n}-{i}",
        )
        for i, code in enumerate(codes)
    ]
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [_concept(REPORT_CATEGORY, "LAB")],
        "code": _concept(LOINC, PANEL_CODE, "Metabolic panel" if n == 0 else "Blood tests"),
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": _instant(taken),
        "issued": _instant(taken + timedelta(hours=5)),
        "performer": [{"reference": f"Organization/{hospital}"}],
        "result": [{"reference": r["fullUrl"]} for r in results],
    }
    return [*results, _post(report)]


def _created_id(response: dict[str, Any]) -> str:
    return str(response["response"]["location"].split("/")[-3])  # .../Type/id/_history/1


def seed(settings: Settings) -> Seeded:
    """Writes the hospital, its free times from two hours on, the citizen, their account and
    their reports; the free times stay ahead of a run of an hour."""
    server, database = fhir_server(settings), Database(settings)
    ctx = platform_context("bench")

    def run(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        _kind, parsed = parse_bundle(body, settings.base_url)
        with database.session(write=True) as session:
            return run_transaction(server, session, ctx, parsed, None)

    try:
        entries = _directory()
        created = {
            entry["fullUrl"]: _created_id(response)
            for entry, response in zip(entries, run(entries), strict=True)
            if "fullUrl" in entry
        }
        doctors = [created[f"urn:uuid:doctor-{n}"] for n in range(len(DOCTORS))]
        hospital, citizen = created["urn:uuid:org"], created["urn:uuid:citizen"]
        now = clock.now()
        first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
        for n in range(len(DOCTORS)):
            run(_slots(created[f"urn:uuid:schedule-{n}"], n % len(DEPARTMENTS), first))
        reports = []
        for n in range(REPORTS):
            reports.append(_created_id(run(_report(citizen, hospital, n, now))[-1]))
        with database.session(write=True) as connection:
            accounts.add_account(
                connection,
                now,
                role="patient",
                username=USERNAME,
                password=PASSWORD,
                fhir_user=f"Patient/{citizen}",
            )
    finally:
        database.dispose()
    searched = doctors[[family for family, _given in DOCTORS].index(SEARCHED)]
    return Seeded(
        hospital=hospital,
        doctors=doctors,
        searched=searched,
        citizen=citizen,
        reports=reports,
        panel=reports[0],
        slots=len(DOCTORS) * DAYS * SLOTS_PER_DAY,
        first_slot=first,
    )
