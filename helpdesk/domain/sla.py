"""The SLA clock: business-time arithmetic on a working calendar, and SLA figures from a ticket's events.

Instants are aware UTC datetimes in and out; the calendar's local time (Europe/Paris by default) is
used only to lay out the working slots of each day, so a DST change never shifts a slot or a sum.
A slot is closed at both ends: 17:30 on a Friday is still "inside" working hours.

The clock of a ticket runs while it is new or open, pauses while it is pending on the requester,
and stops when it is resolved or closed (a reopen starts it again, the time already spent kept).
First response is the first staff reply that is not automatic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ZERO = timedelta(0)
MAX_SEARCH_DAYS = 3660  # a calendar with no working day at all must not loop forever

Slot = tuple[time, time]

DEFAULT_HOURS: dict[int, tuple[Slot, ...]] = {
    day: ((time(9, 0), time(12, 30)), (time(13, 30), time(17, 30))) for day in range(5)
}


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays(country, years=year).keys())


@dataclass(frozen=True, slots=True)
class Closure:
    """Days the centre is closed (inclusive, local dates), e.g. the Christmas week."""

    starts_on: date
    ends_on: date
    label: str = ""


@dataclass(frozen=True, slots=True)
class Calendar:
    timezone: str = "Europe/Paris"
    hours: dict[int, tuple[Slot, ...]] = field(default_factory=lambda: dict(DEFAULT_HOURS))
    holidays_country: str | None = "FR"
    closures: tuple[Closure, ...] = ()

    def __hash__(self) -> int:
        return hash((self.timezone, tuple(sorted(self.hours.items())), self.holidays_country, self.closures))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: date) -> bool:
        if not self.hours.get(day.weekday()):
            return False
        if self.holidays_country and day in _public_holidays(self.holidays_country, day.year):
            return False
        return not any(c.starts_on <= day <= c.ends_on for c in self.closures)

    def day_slots(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working slots of one local day, as UTC instants (cached: calendars are immutable values)."""
        return _day_slots(self, day)

    def slots_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working slots that end after ``instant``, in order (the first may start before it)."""
        day = _utc(instant).astimezone(self.tz).date() - timedelta(days=1)
        for _ in range(MAX_SEARCH_DAYS):
            for s, e in self.day_slots(day):
                if e > instant:
                    yield s, e
            day += timedelta(days=1)
        raise ValueError("the calendar has no working hours in ten years")

    def is_working_instant(self, instant: datetime) -> bool:
        day = _utc(instant).astimezone(self.tz).date()
        return any(s <= instant <= e for s, e in self.day_slots(day))


@lru_cache(maxsize=8192)
def _day_slots(cal: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    if not cal.is_working_day(day):
        return ()
    tz = cal.tz
    out = []
    for start, end in cal.hours.get(day.weekday(), ()):
        s = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
        e = datetime.combine(day, end, tzinfo=tz).astimezone(UTC)
        if e > s:
            out.append((s, e))
    return tuple(out)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the SLA clock")
    return value.astimezone(UTC)


def add_business_time(start: datetime, duration: timedelta, cal: Calendar) -> datetime:
    """The earliest instant at which ``duration`` of working time has passed since ``start``.

    With a zero duration: ``start`` itself when inside working hours, else the next opening.
    """
    start = _utc(start)
    if duration < ZERO:
        raise ValueError("a business duration cannot be negative")
    remaining = duration
    for s, e in cal.slots_from(start):
        begin = max(s, start)
        if begin + remaining <= e:
            return begin + remaining
        remaining -= e - begin
    raise AssertionError("unreachable: slots_from raises first")  # pragma: no cover


def working_day_length(cal: Calendar) -> timedelta:
    """The working time of the calendar's longest day: "N business days" is N times this."""
    ref = date(2001, 1, 1)  # a Monday; only durations are used
    lengths = [
        sum((datetime.combine(ref, b) - datetime.combine(ref, a) for a, b in slots), ZERO)
        for slots in cal.hours.values()
    ]
    return max(lengths, default=ZERO)


def business_time_between(a: datetime, b: datetime, cal: Calendar) -> timedelta:
    """Working time between two instants (zero when ``b`` is not after ``a``)."""
    a, b = _utc(a), _utc(b)
    if b <= a:
        return ZERO
    total = ZERO
    for s, e in cal.slots_from(a):
        if s >= b:
            break
        total += min(e, b) - max(s, a)
    return total


# ---- SLA figures from the events of one ticket ---------------------------------------------------


class ClockEventKind(StrEnum):
    CREATED = "created"
    STATUS = "status"  # ``status`` holds the new status
    STAFF_REPLY = "staff_reply"  # ``automatic`` replies (acknowledgements, reminders) do not count


RUNNING_STATUSES = frozenset({"new", "open"})
PAUSED_STATUSES = frozenset({"pending"})


@dataclass(frozen=True, slots=True)
class ClockEvent:
    at: datetime
    kind: ClockEventKind
    status: str | None = None
    reason: str | None = None
    automatic: bool = False


@dataclass(frozen=True, slots=True)
class Targets:
    first_response: timedelta | None
    resolution: timedelta | None


@dataclass(frozen=True, slots=True)
class SlaState:
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    paused: bool
    first_response_at: datetime | None
    resolved_at: datetime | None
    first_response_elapsed: timedelta  # business time on the clock until the first response (or now)
    resolution_elapsed: timedelta  # business time on the clock until resolution (or now)
    first_response_warn_at: datetime | None = None
    resolution_warn_at: datetime | None = None


Interval = tuple[datetime, datetime | None]  # end None: still running


@dataclass(frozen=True, slots=True)
class _Timeline:
    running: list[Interval]  # while new/open
    paused: bool
    stopped: bool
    first_response_at: datetime | None
    resolved_at: datetime | None


def _timeline(events: Sequence[ClockEvent]) -> _Timeline:
    running: list[Interval] = []
    status: str | None = None
    since: datetime | None = None
    first_response: datetime | None = None
    resolved: datetime | None = None
    for ev in sorted(events, key=lambda e: e.at):
        at = _utc(ev.at)
        if ev.kind is ClockEventKind.STAFF_REPLY:
            if not ev.automatic and first_response is None and status is not None:
                first_response = at
            continue
        new = "new" if ev.kind is ClockEventKind.CREATED else (ev.status or status)
        if status is None and ev.kind is not ClockEventKind.CREATED:
            continue  # nothing before creation counts
        if status in RUNNING_STATUSES and new not in RUNNING_STATUSES and since is not None:
            running.append((since, at))
        if new in RUNNING_STATUSES and (status not in RUNNING_STATUSES):
            since = at
        if new in {"resolved", "closed"} and status not in {"resolved", "closed"}:
            resolved = at
        elif new not in {"resolved", "closed"}:
            resolved = None
        status = new
    if status in RUNNING_STATUSES and since is not None:
        running.append((since, None))
    return _Timeline(running, status in PAUSED_STATUSES, status in {"resolved", "closed"}, first_response, resolved)


def _clip(intervals: Iterable[Interval], until: datetime | None) -> list[Interval]:
    if until is None:
        return list(intervals)
    out: list[Interval] = []
    for s, e in intervals:
        if s >= until:
            break
        out.append((s, until if e is None or e > until else e))
    return out


def _due(intervals: list[Interval], target: timedelta, cal: Calendar, now: datetime) -> datetime | None:
    """The instant the target is (or will be) reached; None when the clock stopped or paused short of it."""
    spent = ZERO
    for s, e in intervals:
        piece = business_time_between(s, e if e is not None else now, cal)
        if e is None or spent + piece >= target:
            return add_business_time(s, target - spent, cal)
        spent += piece
    return None


def _elapsed(intervals: list[Interval], cal: Calendar, now: datetime) -> timedelta:
    return sum((business_time_between(s, e if e is not None else now, cal) for s, e in intervals), ZERO)


def compute_sla(
    events: Sequence[ClockEvent], targets: Targets, cal: Calendar, now: datetime, *, warn_ratio: float = 0.75
) -> SlaState:
    """SLA figures as of ``now`` from the ticket's events, recomputable at will.

    A due time is ``None`` when met, when the clock is paused, or when there is no target; a target
    is breached when its due time passed before the clock stopped (or before ``now``).
    """
    now = _utc(now)
    tl = _timeline(events)
    stop = tl.resolved_at if tl.stopped else None
    fr_intervals = _clip(tl.running, tl.first_response_at)
    fr_due = res_due = fr_warn = res_warn = None
    fr_breached = res_breached = False
    if targets.first_response is not None:
        fr_due = _due(fr_intervals, targets.first_response, cal, now)
        fr_breached = fr_due is not None and fr_due < (tl.first_response_at or stop or now)
        if fr_due is not None:
            fr_warn = _warn_at(fr_intervals, targets.first_response, cal, now, warn_ratio)
    if targets.resolution is not None:
        res_due = _due(tl.running, targets.resolution, cal, now)
        res_breached = res_due is not None and res_due < (stop or now)
        if res_due is not None:
            res_warn = _warn_at(tl.running, targets.resolution, cal, now, warn_ratio)
    return SlaState(
        first_response_due=fr_due,
        resolution_due=res_due,
        first_response_breached=fr_breached,
        resolution_breached=res_breached,
        paused=tl.paused,
        first_response_at=tl.first_response_at,
        resolved_at=stop,
        first_response_elapsed=_elapsed(fr_intervals, cal, now),
        resolution_elapsed=_elapsed(tl.running, cal, now),
        first_response_warn_at=fr_warn,
        resolution_warn_at=res_warn,
    )


def _warn_at(
    intervals: list[Interval], target: timedelta, cal: Calendar, now: datetime, ratio: float
) -> datetime | None:
    return _due(intervals, target * ratio, cal, now)


def explain(start: datetime, targets: dict[str, Targets], cal: Calendar) -> dict[str, dict[str, datetime | None]]:
    """Due times for each priority's targets for a ticket created at ``start`` and never paused."""
    out: dict[str, dict[str, datetime | None]] = {}
    for priority, t in targets.items():
        out[priority] = {
            "first_response_due": add_business_time(start, t.first_response, cal) if t.first_response else None,
            "resolution_due": add_business_time(start, t.resolution, cal) if t.resolution else None,
        }
    return out
