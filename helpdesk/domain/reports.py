"""Report figures as pure functions over plain rows: no clock, no storage (tested on hand-made rows).

Percentiles use the nearest-rank method (p90 of n values is the ceil(0.9 n)-th smallest), the median
the usual middle (mean of the two middles for an even count), so figures can be checked by hand.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("moins d'un jour", timedelta(days=1)),
    ("1 à 3 jours", timedelta(days=3)),
    ("3 à 7 jours", timedelta(days=7)),
    ("7 à 30 jours", timedelta(days=30)),
    ("plus de 30 jours", None),
)
OPEN = frozenset({"new", "open", "pending"})


@dataclass(frozen=True, slots=True)
class TicketRow:
    number: int
    created_at: datetime
    channel: str
    status: str
    priority: str = "normal"
    organization: str | None = None
    pays: str | None = None
    tags: tuple[str, ...] = ()
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    first_response_breached: bool = False
    resolution_breached: bool = False
    first_response_business: timedelta | None = None  # business time to the first response (answered only)
    resolution_business: timedelta | None = None  # business time to resolution (resolved only)


@dataclass(frozen=True, slots=True)
class Compliance:
    met: int
    breached: int

    @property
    def total(self) -> int:
        return self.met + self.breached

    @property
    def rate(self) -> float | None:
        return self.met / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class Spread:
    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    count: int
    average: float | None
    by_score: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Deflection:
    suggestions: int  # questions that got at least one suggestion
    answered: int  # the requester said a suggestion answered them (no staff needed)
    to_staff: int  # the requester asked for a person
    most_used: list[tuple[str, int]] = field(default_factory=list)  # entry, times marked helpful
    least_useful: list[tuple[str, int, int]] = field(default_factory=list)  # entry, not helpful, helpful

    @property
    def rate(self) -> float | None:
        return self.answered / self.suggestions if self.suggestions else None


def week_start(instant: datetime, tz: ZoneInfo = PARIS) -> date:
    local = instant.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def tickets_per_week(rows: Iterable[TicketRow], tz: ZoneInfo = PARIS) -> dict[date, dict[str, int]]:
    """Monday of each local week -> tickets opened that week by channel (weeks in order)."""
    out: dict[date, Counter[str]] = {}
    for r in rows:
        out.setdefault(week_start(r.created_at, tz), Counter())[r.channel] += 1
    return {week: dict(sorted(c.items())) for week, c in sorted(out.items())}


def month_start(instant: datetime, tz: ZoneInfo = PARIS) -> date:
    return instant.astimezone(tz).date().replace(day=1)


def tickets_per_month(rows: Iterable[TicketRow], tz: ZoneInfo = PARIS) -> dict[date, dict[str, int]]:
    """First day of each local month -> tickets opened that month by channel (months in order)."""
    out: dict[date, Counter[str]] = {}
    for r in rows:
        out.setdefault(month_start(r.created_at, tz), Counter())[r.channel] += 1
    return {month: dict(sorted(c.items())) for month, c in sorted(out.items())}


def sla_compliance(rows: Iterable[TicketRow]) -> dict[str, Compliance]:
    """Targets with an outcome: answered (or breached) for first response, resolved (or breached)."""
    fr_met = fr_bad = res_met = res_bad = 0
    for r in rows:
        if r.first_response_breached:
            fr_bad += 1
        elif r.first_response_at is not None:
            fr_met += 1
        if r.resolution_breached:
            res_bad += 1
        elif r.resolved_at is not None:
            res_met += 1
    return {"first_response": Compliance(fr_met, fr_bad), "resolution": Compliance(res_met, res_bad)}


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spread(durations: Iterable[timedelta | None]) -> Spread:
    hours = [d.total_seconds() / 3600 for d in durations if d is not None]
    if not hours:
        return Spread(0, None, None)
    return Spread(len(hours), median(hours), nearest_rank(hours, 0.9))


def business_times(rows: Sequence[TicketRow]) -> dict[str, Spread]:
    return {"first_response": spread(r.first_response_business for r in rows),
            "resolution": spread(r.resolution_business for r in rows)}


def backlog_by_age(rows: Iterable[TicketRow], now: datetime) -> dict[str, int]:
    out = {label: 0 for label, _ in AGE_BUCKETS}
    for r in rows:
        if r.status not in OPEN:
            continue
        age = now - r.created_at
        label = next(lbl for lbl, limit in AGE_BUCKETS if limit is None or age < limit)
        out[label] += 1
    return out


def count_by(rows: Iterable[TicketRow], key: Callable[[TicketRow], Iterable[str | None]],
             top: int = 15) -> list[tuple[str, int]]:
    """The most frequent values (ties by name), e.g. tags, Pays or organizations."""
    c: Counter[str] = Counter()
    for r in rows:
        c.update(v for v in key(r) if v)
    return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def satisfaction(scores: Iterable[int]) -> Satisfaction:
    values = list(scores)
    dist = {s: values.count(s) for s in range(1, 6)}
    return Satisfaction(len(values), sum(values) / len(values) if values else None, dist)


def deflection(outcomes: Iterable[str | None], feedback: Iterable[tuple[str, bool]], top: int = 10) -> Deflection:
    """``outcomes`` of suggestion sets (helpful, human, or None); ``feedback`` (entry, helpful) pairs."""
    seen = list(outcomes)
    good: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    for entry, helpful in feedback:
        (good if helpful else bad)[entry] += 1
    most = sorted(good.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    least = sorted(((e, n, good[e]) for e, n in bad.items()), key=lambda t: (-t[1], t[2], t[0]))[:top]
    return Deflection(len(seen), seen.count("helpful"), seen.count("human"), most, least)
