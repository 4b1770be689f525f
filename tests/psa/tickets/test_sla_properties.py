"""The SLA clock's business-time arithmetic, held to its invariants with hypothesis:
across days, weekends, holidays and DST changes in non-UTC zones, with pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenantry.psa.tickets import sla

ZONES = ["Europe/Berlin", "America/New_York", "UTC", "Australia/Lord_Howe"]
START = datetime(2026, 1, 1, tzinfo=UTC)

instants = st.integers(min_value=0, max_value=2 * 366 * 24 * 3600).map(
    lambda s: START + timedelta(seconds=s)
)
durations = st.integers(min_value=0, max_value=40 * 9 * 3600).map(lambda s: timedelta(seconds=s))


@st.composite
def calendars(draw: st.DrawFn) -> sla.BusinessCalendar:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    hours: dict[int, list[tuple[time, time]]] = {}
    for day in range(7):
        cuts = sorted(draw(st.sets(st.integers(0, 24 * 4), max_size=4)))
        if len(cuts) % 2:
            cuts = cuts[:-1]
        windows = []
        for a, b in zip(cuts[::2], cuts[1::2], strict=True):
            start = time(a // 4, (a % 4) * 15)
            end = time(0) if b == 96 else time(b // 4, (b % 4) * 15)
            windows.append((start, end))
        hours[day] = windows

    def minutes(w: tuple[time, time]) -> int:
        end = 24 * 60 if w[1] == time(0) else w[1].hour * 60 + w[1].minute
        return end - (w[0].hour * 60 + w[0].minute)

    # At least four hours a week, so the longest drawn duration fits in the ten years
    # the clock searches (a calendar with less is refused by design, tested below).
    if sum(minutes(w) for ws in hours.values() for w in ws) < 4 * 60:
        hours[draw(st.integers(0, 6))] = [(time(9), time(13))]
    holidays = draw(
        st.sets(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), max_size=10)
    )
    return sla.BusinessCalendar(zone, hours, frozenset(holidays))


OFFICE = sla.calendar_from("Europe/Berlin", sla.DEFAULT_HOURS, ["2026-12-25"])


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations)
def test_adding_then_measuring_back_gives_the_same_duration(
    cal: sla.BusinessCalendar, start: datetime, amount: timedelta
) -> None:
    end = sla.add_business(cal, start, amount)
    assert end >= start
    assert sla.business_between(cal, start, end) == amount


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations, durations)
def test_adding_is_monotonic_and_composes(
    cal: sla.BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    small, large = sorted((a, b))
    assert sla.add_business(cal, start, small) <= sla.add_business(cal, start, large)
    # Adding a then b is adding a + b (the business-time scale has no seams).
    assert sla.add_business(cal, sla.add_business(cal, start, a), b) == sla.add_business(
        cal, start, a + b
    )


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, instants, instants)
def test_measuring_is_additive_and_bounded_by_wall_time(
    cal: sla.BusinessCalendar, x: datetime, y: datetime, z: datetime
) -> None:
    a, b, c = sorted((x, y, z))
    ab, bc = sla.business_between(cal, a, b), sla.business_between(cal, b, c)
    assert ab + bc == sla.business_between(cal, a, c)
    assert timedelta(0) <= ab <= b - a


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.lists(st.integers(1, 7 * 24 * 3600), min_size=1, max_size=6))
def test_a_paused_clock_counts_only_running_stretches(
    cal: sla.BusinessCalendar, start: datetime, gaps: list[int]
) -> None:
    clock = sla.started(start)
    at, expected, running = start, timedelta(0), True
    for gap in gaps:
        nxt = at + timedelta(seconds=gap)
        if running:
            expected += sla.business_between(cal, at, nxt)
            clock = sla.pause(cal, clock, nxt)
        else:
            clock = sla.resume(clock, nxt)
        running = not running
        at = nxt
        assert sla.elapsed(cal, clock, at) == expected
    # Elapsed never decreases as time goes on.
    assert sla.elapsed(cal, clock, at + timedelta(days=3)) >= expected


def test_a_friday_afternoon_p1_is_due_on_monday_morning() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    created = datetime(2026, 3, 13, 16, 0, tzinfo=berlin)  # Friday 16:00
    due = sla.add_business(OFFICE, created, timedelta(hours=4))
    assert due.astimezone(berlin) == datetime(2026, 3, 16, 11, 0, tzinfo=berlin)


def test_the_wall_clock_window_follows_dst_in_berlin() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Friday 27 March 2026, 16:00 CET; the clocks go forward on Sunday 29 March.
    created = datetime(2026, 3, 27, 16, 0, tzinfo=berlin)
    due = sla.add_business(OFFICE, created, timedelta(hours=2))
    assert due.astimezone(berlin) == datetime(2026, 3, 30, 9, 0, tzinfo=berlin)
    assert due.utcoffset() == timedelta(0) and due.hour == 7  # 09:00 CEST = 07:00 UTC


def test_holidays_and_weekends_do_not_count() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    christmas_eve = datetime(2026, 12, 24, 17, 0, tzinfo=berlin)  # Thursday, end of day
    due = sla.add_business(OFFICE, christmas_eve, timedelta(minutes=30))
    # 25th is a holiday (Friday), then the weekend: Monday the 28th.
    assert due.astimezone(berlin) == datetime(2026, 12, 28, 8, 30, tzinfo=berlin)


def test_new_york_spring_forward_with_a_window_over_the_gap() -> None:
    ny = ZoneInfo("America/New_York")
    cal = sla.BusinessCalendar(ny, {6: [(time(1), time(4))]})  # Sundays 01:00-04:00
    day = datetime(2026, 3, 8, 0, 0, tzinfo=ny)  # 02:00 → 03:00 that night
    assert sla.business_between(cal, day, day + timedelta(days=1)) == timedelta(hours=2)


def test_a_calendar_without_hours_refuses_to_compute_a_due_time() -> None:
    cal = sla.BusinessCalendar(ZoneInfo("UTC"), {})
    with pytest.raises(sla.NoBusinessHours):
        sla.add_business(cal, START, timedelta(minutes=1))


def test_due_is_none_while_paused() -> None:
    clock = sla.pause(OFFICE, sla.started(START), START + timedelta(days=1))
    assert sla.due(OFFICE, clock, timedelta(hours=1)) is None
