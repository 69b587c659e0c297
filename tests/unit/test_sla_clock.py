"""Business-time arithmetic on the working calendar: properties (hypothesis) and hand-checked cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.domain.sla import Calendar, Closure, add_business_time, business_time_between

PARIS = ZoneInfo("Europe/Paris")
CAL = Calendar()


def paris(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A wall-clock time in Paris, as the aware UTC instant the SLA clock takes."""
    return datetime(y, mo, d, h, mi, tzinfo=PARIS).astimezone(UTC)


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=300))


@settings(max_examples=300, deadline=None)
@given(start=instants, duration=durations)
def test_adding_then_measuring_gives_back_the_duration(start: datetime, duration: timedelta) -> None:
    end = add_business_time(start, duration, CAL)
    assert end.tzinfo is not None and end.utcoffset() == timedelta(0)
    assert business_time_between(start, end, CAL) == duration


@settings(max_examples=300, deadline=None)
@given(start=instants, duration=durations)
def test_never_lands_outside_working_hours(start: datetime, duration: timedelta) -> None:
    end = add_business_time(start, duration, CAL)
    assert end >= start
    assert CAL.is_working_instant(end)
    local = end.astimezone(PARIS)
    assert local.weekday() < 5
    assert time(9, 0) <= local.time() <= time(12, 30) or time(13, 30) <= local.time() <= time(17, 30)


@settings(max_examples=200, deadline=None)
@given(start=instants, d1=durations, d2=durations)
def test_monotonic_in_the_duration(start: datetime, d1: timedelta, d2: timedelta) -> None:
    lo, hi = sorted((d1, d2))
    assert add_business_time(start, lo, CAL) <= add_business_time(start, hi, CAL)


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, duration=durations)
def test_monotonic_in_the_start(a: datetime, b: datetime, duration: timedelta) -> None:
    early, late = sorted((a, b))
    assert add_business_time(early, duration, CAL) <= add_business_time(late, duration, CAL)
    assert business_time_between(early, late, CAL) >= timedelta(0)
    assert business_time_between(late, early, CAL) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_measuring_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    x, y, z = sorted((a, b, c))
    assert business_time_between(x, y, CAL) + business_time_between(y, z, CAL) == business_time_between(x, z, CAL)


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        # Friday 17:25: five minutes on Friday, the rest on Monday morning.
        (paris(2026, 3, 6, 17, 25), timedelta(hours=1), paris(2026, 3, 9, 9, 55)),
        # Exactly to the end of the day stays on Friday 17:30 (not Monday 9:00).
        (paris(2026, 3, 6, 17, 25), timedelta(minutes=5), paris(2026, 3, 6, 17, 30)),
        # The lunch break does not count.
        (paris(2026, 3, 2, 12, 0), timedelta(hours=1), paris(2026, 3, 2, 14, 0)),
        # Eve of 14 July 2026 (a Tuesday): the national day is skipped.
        (paris(2026, 7, 13, 17, 0), timedelta(hours=1), paris(2026, 7, 15, 9, 30)),
        # Ascension Thursday 2026-05-14: Wednesday evening to Friday morning.
        (paris(2026, 5, 13, 17, 0), timedelta(hours=1), paris(2026, 5, 15, 9, 30)),
        # DST starts on Sunday 29 March 2026: Friday CET to Monday CEST, one hour of work.
        (paris(2026, 3, 27, 17, 0), timedelta(hours=1), paris(2026, 3, 30, 9, 30)),
        # DST ends on Sunday 25 October 2026: Friday CEST to Monday CET.
        (paris(2026, 10, 23, 17, 0), timedelta(hours=1), paris(2026, 10, 26, 9, 30)),
        # A night start moves to the next opening; Saturday start to Monday.
        (paris(2026, 3, 3, 22, 0), timedelta(minutes=30), paris(2026, 3, 4, 9, 30)),
        (paris(2026, 3, 7, 11, 0), timedelta(0), paris(2026, 3, 9, 9, 0)),
        # One full working day is 7h30.
        (paris(2026, 3, 2, 9, 0), timedelta(hours=7, minutes=30), paris(2026, 3, 2, 17, 30)),
    ],
)
def test_hand_checked_additions(start: datetime, duration: timedelta, expected: datetime) -> None:
    assert add_business_time(start, duration, CAL) == expected
    assert business_time_between(start, expected, CAL) == duration


def test_dst_weekends_measure_real_working_time() -> None:
    assert paris(2026, 3, 30, 9, 0) - paris(2026, 3, 27, 17, 30) == timedelta(days=2, hours=14, minutes=30)
    assert business_time_between(paris(2026, 3, 27, 9), paris(2026, 3, 30, 17, 30), CAL) == timedelta(hours=15)
    assert business_time_between(paris(2026, 10, 23, 9), paris(2026, 10, 26, 17, 30), CAL) == timedelta(hours=15)
    # Slots keep their wall-clock times on both sides of the change.
    assert paris(2026, 3, 30, 9).hour == 7 and paris(2026, 3, 27, 9).hour == 8


def test_closures_and_custom_hours() -> None:
    cal = Calendar(closures=(Closure(date(2026, 12, 24), date(2026, 12, 31), "fermeture de fin d'année"),))
    # Wednesday 23 Dec 17:00 + 1h: the 24th-31st are closed, 1 Jan is a holiday, 2-3 Jan a weekend.
    assert add_business_time(paris(2026, 12, 23, 17), timedelta(hours=1), cal) == paris(2027, 1, 4, 9, 30)
    saturday_mornings = Calendar(hours={5: ((time(9), time(12)),)}, holidays_country=None)
    assert add_business_time(paris(2026, 3, 2, 10), timedelta(hours=4), saturday_mornings) == paris(2026, 3, 14, 10)


def test_naive_and_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        add_business_time(datetime(2026, 3, 2, 9), timedelta(hours=1), CAL)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        add_business_time(paris(2026, 3, 2, 9), timedelta(hours=-1), CAL)
    with pytest.raises(ValueError, match="no working hours"):
        add_business_time(paris(2026, 3, 2, 9), timedelta(hours=1), Calendar(hours={}))
