"""Free times as the pages offer them: grouped by the local day in the deployment's zone, in
order, each button named with its time and day in the person's language."""

from medsvc.web.directory import FreeTime
from medsvc.web.offers import Offer, offered, zone_of
from medsvc.web.render import Formats

EN = Formats("en", "Asia/Shanghai")
ZH = Formats("zh_Hans_CN", "Asia/Shanghai")


def _time(slot: str, start: str) -> FreeTime:
    return FreeTime(f"Slot/{slot}", start, "Practitioner/p", "")


# 15:30 UTC on the 7th is 23:30 on the 7th in Shanghai; 16:00 UTC is midnight on the 8th.
TIMES = [
    _time("late", "2026-12-07T15:30:00Z"),
    _time("midnight", "2026-12-07T16:00:00Z"),
    _time("morning", "2026-12-07T01:00:00Z"),
    _time("broken", "not a time"),
    _time("no-zone", "2026-12-07T09:00:00"),
]


def test_times_are_grouped_by_the_local_day_in_order() -> None:
    days = offered(TIMES, EN)
    assert [day.name for day in days] == ["Monday, December 7, 2026", "Tuesday, December 8, 2026"]
    assert [[o.slot for o in day.offers] for day in days] == [
        ["Slot/late", "Slot/morning"],
        ["Slot/midnight"],
    ]


def test_each_button_is_named_with_its_time_and_day_in_the_persons_language() -> None:
    english = offered(TIMES, EN)[1].offers[0]
    assert english == Offer(
        "Slot/midnight", "12:00\u202fAM", "Hold 12:00\u202fAM on Tuesday, December 8, 2026"
    )
    chinese = offered(TIMES, ZH)[1].offers[0]
    assert chinese.at == "00:00"
    assert chinese.label == "保留 2026年12月8日星期二 00:00"


def test_a_move_names_its_buttons_as_moves() -> None:
    assert offered(TIMES, EN, moving=True)[0].offers[1].label == (
        "Move to 9:00\u202fAM on Monday, December 7, 2026"
    )


def test_the_zone_is_named_at_the_first_time_that_is_one() -> None:
    assert zone_of([TIMES[3], TIMES[0]], EN) == "China Standard Time"
    assert zone_of([TIMES[3]], ZH) == ""
    assert offered([TIMES[3], TIMES[4]], EN) == []
