"""The demo's citizens and visits: past and coming ones, and a cardiologist's full day today."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from medsvc.cli.demo_bundle import (
    Entries,
    concept,
    human_names,
    instant,
    local,
    ref,
    weekday_from,
)
from medsvc.cli.demo_city import CHEN, LIU, SLOT_MINUTES, WANG, Doctor, slot

# key, family and given name, in pinyin, gender, birth date
CITIZENS = (
    ("pat-mei", "李", "梅", "Li Mei", "female", "1986-03-12"),
    ("pat-jian", "李", "建国", "Li Jianguo", "male", "1952-08-20"),
    ("pat-xiuying", "张", "秀英", "Zhang Xiuying", "female", "1957-11-03"),
    ("pat-qiang", "刘", "强", "Liu Qiang", "male", "1974-06-21"),
    ("pat-li", "黄", "丽", "Huang Li", "female", "1991-02-14"),
    ("pat-lei", "赵", "磊", "Zhao Lei", "male", "1983-09-30"),
    ("pat-jie", "周", "杰", "Zhou Jie", "male", "2000-12-08"),
)


@dataclass(frozen=True)
class Visit:
    key: str
    patient: str
    doctor: Doctor
    days: int  # from today: before it, back to a weekday; after it, on to one; 0: today
    time: tuple[int, int]  # local hour and minute, on the slots' grid
    reason: tuple[str, str]  # Chinese, English

    def start(self, today: date, zone: ZoneInfo) -> datetime:
        day = today + timedelta(days=self.days)
        if self.days:
            day = weekday_from(day, 1 if self.days > 0 else -1)
        return local(day, *self.time, zone)


# Keyed by their place in the story: a later load finds them however the days have moved.
STORY = (
    Visit("visit-mei-past-1", "pat-mei", CHEN, -7, (9, 20), ("糖尿病复诊", "Diabetes follow-up")),
    Visit("visit-mei-past-2", "pat-mei", WANG, -14, (10, 40), ("心悸", "Palpitations")),
    Visit(
        "visit-mei-past-3", "pat-mei", LIU, -21, (14, 10), ("糖尿病眼底检查", "Diabetic eye check")
    ),
    Visit("visit-mei-next-1", "pat-mei", WANG, 3, (10, 0), ("心内科复诊", "Cardiology follow-up")),
    Visit("visit-mei-next-2", "pat-mei", CHEN, 9, (14, 30), ("糖尿病复诊", "Diabetes follow-up")),
    Visit("visit-jian-next-1", "pat-jian", LIU, 5, (9, 0), ("白内障复查", "Cataract check")),
)
# Dr Wang's clinic today: patient, local time, reason.
DAY = (
    ("pat-xiuying", (8, 0), ("高血压复诊", "Hypertension follow-up")),
    ("pat-qiang", (8, 40), ("胸闷两周", "Chest tightness for two weeks")),
    ("pat-jian", (9, 20), ("心悸复查", "Palpitations, checked again")),
    ("pat-li", (10, 0), ("体检心电图异常", "An abnormal ECG at a check-up")),
    ("pat-lei", (10, 40), ("血脂偏高咨询", "High blood lipids")),
    ("pat-jie", (14, 10), ("运动后胸痛", "Chest pain after exercise")),
)


def add_citizens(entries: Entries) -> None:
    for key, family, given, pinyin, gender, born in CITIZENS:
        entries.add(
            key,
            {
                "resourceType": "Patient",
                "name": human_names(family, given, pinyin),
                "gender": gender,
                "birthDate": born,
            },
        )


def _appointment(
    entries: Entries, visit: Visit, start: datetime, status: str, slot_key: str | None
) -> None:
    """The visit in its slot: written as the hospital would, the slot then shows busy."""
    doctor = visit.doctor
    entries.add(
        visit.key,
        {
            "resourceType": "Appointment",
            "status": status,
            "serviceType": [doctor.department.concept()],
            "reasonCode": [concept(*visit.reason)],
            "start": instant(start),
            "end": instant(start + timedelta(minutes=SLOT_MINUTES)),
            "slot": [slot(entries, doctor, start, slot_key)],
            "participant": [
                {"actor": ref(visit.patient), "status": "accepted"},
                {"actor": ref(doctor.key), "status": "accepted"},
                {"actor": ref(doctor.building), "status": "accepted"},
            ],
        },
    )


def add_visits(entries: Entries, today: date, zone: ZoneInfo) -> None:
    """The story's visits, and today's clinic (keyed by its day: each day loaded has one).
    A past visit has a slot of its own; a coming one takes its doctor's free slot."""
    for visit in STORY:
        past = visit.days < 0
        status = "fulfilled" if past else "booked"
        slot_key = f"slot-{visit.key}" if past else None
        _appointment(entries, visit, visit.start(today, zone), status, slot_key)
    for patient, (hour, minute), reason in DAY:
        key = f"visit-{WANG.key}-{today}-{hour:02}{minute:02}"
        visit = Visit(key, patient, WANG, 0, (hour, minute), reason)
        _appointment(entries, visit, visit.start(today, zone), "booked", None)
