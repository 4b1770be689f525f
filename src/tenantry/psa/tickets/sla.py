"""The SLA clock as pure functions: business time in a tenant's time zone.

Business hours are wall-clock windows per weekday in the tenant's zone; holidays are
whole local dates. Every window is turned into a UTC interval through ``zoneinfo`` on
its own date, so a DST change moves the window with the wall clock (08:00-17:00 stays
08:00-17:00 local, i.e. one hour shorter or longer in UTC only if the window spans the
change itself). Arithmetic happens on those UTC intervals, which makes "add business
time, then measure it back" exact.

The clock of a ticket is (business time consumed so far, running since when or None).
It runs from creation, stands still while the ticket waits on the customer or is on
hold, and stops when the ticket is resolved. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZERO = timedelta(0)
# A calendar with business hours finds a window within a couple of weeks; holidays can
# push that out, but a search of ten years means the calendar has no usable hours.
_MAX_DAYS = 3660

Window = tuple[time, time]


class NoBusinessHours(ValueError):
    """The calendar has no business time at all: no due time can ever be reached."""


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    zone: ZoneInfo
    # Monday = 0 … Sunday = 6 → sorted, non-overlapping local windows. An end of
    # ``time(0)`` means midnight at the end of the day ("24:00").
    hours: Mapping[int, Sequence[Window]]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def windows_on(self, day: date) -> Sequence[Window]:
        if day in self.holidays:
            return ()
        return self.hours.get(day.weekday(), ())

    @property
    def has_hours(self) -> bool:
        return any(self.hours.get(d) for d in range(7))


def parse_hhmm(value: str) -> time:
    """'08:30' → 08:30; '24:00' → midnight (the end of the day)."""
    hh, mm = value.split(":")
    hours, minutes = int(hh), int(mm)
    if hours == 24 and minutes == 0:
        return time(0)
    return time(hours, minutes)


def calendar_from(
    time_zone: str, business_hours: Mapping[str, Sequence[Sequence[str]]], holidays: Sequence[str]
) -> BusinessCalendar:
    """The stored policy (JSON) as a calendar. Raises ValueError on malformed values."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {time_zone!r}") from exc
    hours: dict[int, list[Window]] = {}
    for key, windows in business_hours.items():
        day = int(key)
        if not 0 <= day <= 6:
            raise ValueError(f"weekday {key} is not 0 (Monday) … 6 (Sunday)")
        parsed = [(parse_hhmm(a), parse_hhmm(b)) for a, b in windows]
        hours[day] = sorted(parsed)
    return BusinessCalendar(
        zone=zone,
        hours=hours,
        holidays=frozenset(date.fromisoformat(h) for h in holidays),
    )


def _to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time (autumn) is its first occurrence, and a missing one
    # (spring gap) is read with the offset before the change; both map to real instants.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _day_intervals(cal: BusinessCalendar, day: date) -> Iterator[tuple[datetime, datetime]]:
    for start, end in cal.windows_on(day):
        a = _to_utc(day, start, cal.zone)
        b = (
            _to_utc(day + timedelta(days=1), time(0), cal.zone)
            if end == time(0)
            else (_to_utc(day, end, cal.zone))
        )
        if b > a:
            yield a, b


def intervals_from(cal: BusinessCalendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Business intervals (UTC) from ``start`` on, clipped to start there, in order and
    never overlapping (a window that a DST gap pushed back onto the previous one is cut)."""
    if start.tzinfo is None:
        raise ValueError("naive datetime: SLA arithmetic needs aware datetimes")
    start = start.astimezone(UTC)
    day = start.astimezone(cal.zone).date() - timedelta(days=1)
    last_end = start
    for _ in range(_MAX_DAYS):
        for a, b in _day_intervals(cal, day):
            a = max(a, last_end)
            if b > a:
                yield a, b
                last_end = b
        day += timedelta(days=1)


def business_between(cal: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time in [start, end); zero if end is not after start."""
    if end <= start:
        return ZERO
    total = ZERO
    for a, b in intervals_from(cal, start):
        if a >= end:
            break
        total += min(b, end) - a
    return total


def add_business(cal: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which ``amount`` of business time has passed since ``start``."""
    if amount < ZERO:
        raise ValueError("amount must not be negative")
    if amount == ZERO:
        return start.astimezone(UTC)
    if not cal.has_hours:
        raise NoBusinessHours("the SLA policy has no business hours")
    remaining = amount
    for a, b in intervals_from(cal, start):
        if b - a >= remaining:
            return a + remaining
        remaining -= b - a
    raise NoBusinessHours("no business hours within ten years (every day a holiday?)")


@dataclass(frozen=True, slots=True)
class Clock:
    """A ticket's SLA clock: ``consumed`` business time up to ``running_since``
    (None: paused or stopped)."""

    consumed: timedelta = ZERO
    running_since: datetime | None = None

    @property
    def running(self) -> bool:
        return self.running_since is not None


def started(at: datetime) -> Clock:
    return Clock(ZERO, at)


def elapsed(cal: BusinessCalendar, clock: Clock, at: datetime) -> timedelta:
    """Business time the clock has counted by ``at``."""
    if clock.running_since is None:
        return clock.consumed
    return clock.consumed + business_between(cal, clock.running_since, at)


def pause(cal: BusinessCalendar, clock: Clock, at: datetime) -> Clock:
    if clock.running_since is None:
        return clock
    return Clock(elapsed(cal, clock, at), None)


def resume(clock: Clock, at: datetime) -> Clock:
    if clock.running_since is not None:
        return clock
    return Clock(clock.consumed, at)


def due(cal: BusinessCalendar, clock: Clock, target: timedelta) -> datetime | None:
    """When the clock reaches ``target`` if it keeps running; None while paused.

    Already past the target: the instant it resumed (the due time is in the past).
    """
    if clock.running_since is None:
        return None
    remaining = max(target - clock.consumed, ZERO)
    return add_business(cal, clock.running_since, remaining)


# The defaults a new tenant gets: Monday to Friday 08:00-17:00, targets by priority.
DEFAULT_HOURS: dict[str, list[list[str]]] = {str(d): [["08:00", "17:00"]] for d in range(5)}
DEFAULT_TARGETS: dict[str, dict[str, int]] = {
    "P1": {"first_response": 30, "resolution": 4 * 60},
    "P2": {"first_response": 60, "resolution": 9 * 60},
    "P3": {"first_response": 4 * 60, "resolution": 3 * 9 * 60},
    "P4": {"first_response": 9 * 60, "resolution": 10 * 9 * 60},
}
