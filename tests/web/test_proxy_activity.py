"""The proxies page's list of what was done for the person: the same thing done again within a
minute is one row with its count; anything else stays a row of its own."""

from medsvc.web.pages.proxy_activity import Activity, _activity, _counted


def done(when: str, action: str = "searched", name: str = "李梅") -> Activity:
    return Activity(when, name, action, "appointments", refused=False)


def test_the_same_thing_within_a_minute_is_counted_on_one_row() -> None:
    rows = _counted(
        [
            done("2026-12-08T03:22:15Z"),
            done("2026-12-08T03:22:10Z"),
            done("2026-12-08T03:22:01Z"),
            done("2026-12-08T03:21:59Z"),  # another minute
            done("2026-12-08T03:21:58Z", action="looked"),  # another action
            done("2026-12-08T03:21:57Z", name="李雷"),  # another person
            done("2026-12-08T03:21:56Z"),  # the same as two rows before, not as the last
        ]
    )
    assert [(r.when, r.name, r.action, r.times) for r in rows] == [
        ("2026-12-08T03:22:15Z", "李梅", "searched", 3),
        ("2026-12-08T03:21:59Z", "李梅", "searched", 1),
        ("2026-12-08T03:21:58Z", "李梅", "looked", 1),
        ("2026-12-08T03:21:57Z", "李雷", "searched", 1),
        ("2026-12-08T03:21:56Z", "李梅", "searched", 1),
    ]


def test_the_api_s_parts_are_worded_and_unknown_ones_fall_back() -> None:
    booked = _activity(
        {
            "when": "2026-12-08T03:22:15Z",
            "name": "李梅",
            "interaction": "operation",
            "operation": "book",
            "type": "Appointment",
            "succeeded": True,
        }
    )
    assert (booked.action, booked.subject, booked.refused) == ("booked", "appointments", False)
    odd = _activity({"interaction": "operation", "operation": "x-new", "type": "Basic"})
    assert (odd.action, odd.subject, odd.refused) == ("used", "record", True)
    searched = _activity({"interaction": "search-type", "type": "Observation", "succeeded": True})
    assert (searched.action, searched.subject) == ("searched", "results")
