"""The demo city's directory: hospitals, departments, doctors, schedules and free slots."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from medsvc.cli.demo_bundle import (
    Entries,
    Resource,
    concept,
    english,
    human_names,
    instant,
    local,
    named,
    ref,
)

SNOMED = "http://snomed.info/sct"
DEPARTMENT = "urn:medsvc:demo:department"
PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
DAYS = 14  # the free slots' days ahead, as far as the app offers times
SLOT_MINUTES = 20
# The city's clinic hours: mornings from 08:00 (the last slot ends 11:40), afternoons from
# 13:30 (the last ends 16:30).
SESSIONS = ((8, 0, 11), (13, 30, 9))  # hour, minute, slots


@dataclass(frozen=True)
class Department:
    key: str
    chinese: str
    english: str
    snomed: tuple[str, str] | None = None  # code and display of the SNOMED CT specialty
    bookable: bool = True

    def concept(self) -> Resource:
        codings = [(SNOMED, *self.snomed)] if self.snomed else []
        codings.append((DEPARTMENT, self.key, self.english))
        return concept(self.chinese, self.english, *codings)


CARDIOLOGY = Department("cardiology", "心内科", "Cardiology", ("394579002", "Cardiology"))
PAEDIATRICS = Department("paediatrics", "儿科", "Paediatrics", ("394537008", "Pediatric specialty"))
DERMATOLOGY = Department("dermatology", "皮肤科", "Dermatology", ("394582007", "Dermatology"))
ENDOCRINOLOGY = Department(
    "endocrinology", "内分泌科", "Endocrinology", ("394583002", "Endocrinology")
)
OPHTHALMOLOGY = Department("ophthalmology", "眼科", "Ophthalmology", ("394594003", "Ophthalmology"))
LABORATORY = Department("laboratory", "检验科", "Clinical Laboratory", bookable=False)


@dataclass(frozen=True)
class Hospital:
    key: str
    chinese: str
    english: str
    address: tuple[str, str]  # Chinese, English
    # Buildings: key, Chinese and English name, and the departments seen there.
    buildings: tuple[tuple[str, str, str, tuple[Department, ...]], ...]


FIRST = Hospital(
    "org-first-hospital",
    "市第一人民医院",
    "City First People's Hospital",
    ("人民路1号", "1 Renmin Road"),
    (
        ("loc-first-outpatient", "门诊楼", "Outpatient Building", (CARDIOLOGY, DERMATOLOGY)),
        ("loc-first-children", "儿童诊疗中心", "Children's Clinic", (PAEDIATRICS,)),
        ("loc-first-lab", "医技楼", "Medical Technology Building", (LABORATORY,)),
    ),
)
CENTRAL = Hospital(
    "org-central-hospital",
    "市中心医院",
    "City Central Hospital",
    ("解放路88号", "88 Jiefang Road"),
    (
        ("loc-central-outpatient", "门诊大楼", "Outpatient Building", (ENDOCRINOLOGY,)),
        ("loc-central-eye", "眼科中心", "Eye Centre", (OPHTHALMOLOGY,)),
        ("loc-central-lab", "检验中心", "Laboratory Centre", (LABORATORY,)),
    ),
)
HOSPITALS = (FIRST, CENTRAL)


@dataclass(frozen=True)
class Doctor:
    key: str
    family: str
    given: str
    pinyin: str
    hospital: Hospital
    department: Department
    # Slots from a schedule template (docs/scheduling.md), which the templates job makes
    # once the service runs, rather than published one by one.
    templated: bool = False

    @property
    def building(self) -> str:
        return next(b[0] for b in self.hospital.buildings if self.department in b[3])


WANG = Doctor("dr-wang", "王", "芳", "Wang Fang", FIRST, CARDIOLOGY)
LI = Doctor("dr-li", "李", "明", "Li Ming", FIRST, PAEDIATRICS)
ZHANG = Doctor("dr-zhang", "张", "伟", "Zhang Wei", FIRST, DERMATOLOGY, templated=True)
CHEN = Doctor("dr-chen", "陈", "静", "Chen Jing", CENTRAL, ENDOCRINOLOGY)
LIU = Doctor("dr-liu", "刘", "洋", "Liu Yang", CENTRAL, OPHTHALMOLOGY)
DOCTORS = (WANG, LI, ZHANG, CHEN, LIU)

MORNINGS = {
    "url": "urn:medsvc:extension:availability-template",
    "extension": [
        *({"url": "daysOfWeek", "valueCode": day} for day in ("mon", "tue", "wed", "thu", "fri")),
        {"url": "availableStartTime", "valueTime": "08:00:00"},
        {"url": "availableEndTime", "valueTime": "11:40:00"},
        {"url": "slotMinutes", "valuePositiveInt": SLOT_MINUTES},
        {"url": "horizonDays", "valuePositiveInt": DAYS},
    ],
}


def _hospital(entries: Entries, hospital: Hospital) -> None:
    chinese, in_english = hospital.address
    entries.add(
        hospital.key,
        {
            "resourceType": "Organization",
            "active": True,
            "type": [
                concept(
                    "医院",
                    "Hospital",
                    (
                        "http://terminology.hl7.org/CodeSystem/organization-type",
                        "prov",
                        "Healthcare Provider",
                    ),
                )
            ],
            **named(hospital.chinese, hospital.english),
            "alias": [hospital.english],
            "address": [{"text": chinese, "_text": english(in_english)}],
        },
    )
    for key, building, building_english, departments in hospital.buildings:
        _building(entries, hospital, key, building, building_english)
        for department in departments:
            _service(entries, hospital, key, department)


def _building(
    entries: Entries, hospital: Hospital, key: str, chinese: str, in_english: str
) -> None:
    entries.add(
        key,
        {
            "resourceType": "Location",
            "status": "active",
            **named(hospital.chinese + chinese, f"{hospital.english}, {in_english}"),
            "alias": [f"{hospital.english}, {in_english}"],
            "physicalType": concept("楼", "Building", (PHYSICAL_TYPE, "bu", "Building")),
            "address": {"text": hospital.address[0], "_text": english(hospital.address[1])},
            "managingOrganization": ref(hospital.key),
        },
    )


def _service(entries: Entries, hospital: Hospital, building: str, department: Department) -> None:
    """The department as a HealthcareService of its hospital, bookable or not."""
    entries.add(
        f"svc-{hospital.key}-{department.key}",
        {
            "resourceType": "HealthcareService",
            "active": True,
            "providedBy": ref(hospital.key),
            "type": [department.concept()],
            "specialty": [department.concept()],
            "location": [ref(building)],
            **named(
                hospital.chinese + department.chinese, f"{hospital.english}, {department.english}"
            ),
            "appointmentRequired": department.bookable,
        },
    )


def _doctor(entries: Entries, doctor: Doctor) -> None:
    practitioner = entries.add(
        doctor.key,
        {
            "resourceType": "Practitioner",
            "active": True,
            "name": human_names(doctor.family, doctor.given, doctor.pinyin),
        },
    )
    where = ref(doctor.building)
    specialty = doctor.department.concept()
    entries.add(
        f"role-{doctor.key}",
        {
            "resourceType": "PractitionerRole",
            "active": True,
            "practitioner": practitioner,
            "organization": ref(doctor.hospital.key),
            "code": [
                concept(
                    "医生",
                    "Doctor",
                    ("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor", "Doctor"),
                )
            ],
            "specialty": [specialty],
            "location": [where],
            "healthcareService": [ref(f"svc-{doctor.hospital.key}-{doctor.department.key}")],
        },
    )
    schedule: dict[str, Any] = {
        "resourceType": "Schedule",
        "active": True,
        "serviceType": [specialty],
        "specialty": [specialty],
        "actor": [practitioner, where],
    }
    if doctor.templated:
        schedule["extension"] = [MORNINGS]
    entries.add(f"schedule-{doctor.key}", schedule)


def slot(
    entries: Entries, doctor: Doctor, start: datetime, key: str | None = None
) -> dict[str, str]:
    """The doctor's slot from start, added free (an appointment in it makes it busy); its key
    is its time unless given."""
    return entries.add(
        key or f"slot-{doctor.key}-{instant(start)}",
        {
            "resourceType": "Slot",
            "status": "free",
            "schedule": ref(f"schedule-{doctor.key}"),
            "serviceType": [doctor.department.concept()],
            "start": instant(start),
            "end": instant(start + timedelta(minutes=SLOT_MINUTES)),
        },
    )


def clinic_times(day: date, zone: ZoneInfo) -> list[datetime]:
    """The starts of a day's slots in the city's clinic hours."""
    return [
        local(day, hour, minute, zone) + timedelta(minutes=SLOT_MINUTES * n)
        for hour, minute, count in SESSIONS
        for n in range(count)
    ]


def add_city(entries: Entries, today: date, zone: ZoneInfo) -> None:
    """The hospitals, departments, doctors and the published doctors' free slots from today
    (the day's past slots too: the doctors' day of visits takes some of them)."""
    for hospital in HOSPITALS:
        _hospital(entries, hospital)
    for doctor in DOCTORS:
        _doctor(entries, doctor)
    for doctor in (d for d in DOCTORS if not d.templated):
        for day in (today + timedelta(days=n) for n in range(DAYS + 1)):
            if day.weekday() < 5:
                for start in clinic_times(day, zone):
                    slot(entries, doctor, start)
