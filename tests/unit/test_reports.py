"""Report figures on hand-made rows, checked against values computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from helpdesk.domain import reports as r

H = timedelta(hours=1)


def row(n: int, created: datetime, channel: str = "email", status: str = "open", **kw: object) -> r.TicketRow:
    return r.TicketRow(number=n, created_at=created, channel=channel, status=status, **kw)  # type: ignore[arg-type]


def test_weeks_start_on_local_monday() -> None:
    # Sunday 8 March 23:30 UTC is already Monday 9 March in Paris.
    rows = [row(1, datetime(2026, 3, 8, 23, 30, tzinfo=UTC)), row(2, datetime(2026, 3, 8, 22, 30, tzinfo=UTC)),
            row(3, datetime(2026, 3, 2, 8, tzinfo=UTC), "telegram")]
    assert r.tickets_per_week(rows) == {date(2026, 3, 2): {"email": 1, "telegram": 1}, date(2026, 3, 9): {"email": 1}}


def test_months_start_on_the_local_first_day() -> None:
    # 31 March 22:30 UTC is already 1 April in Paris (summer time, UTC+2).
    rows = [row(1, datetime(2026, 3, 31, 22, 30, tzinfo=UTC)), row(2, datetime(2026, 3, 31, 21, 30, tzinfo=UTC)),
            row(3, datetime(2026, 2, 2, 8, tzinfo=UTC), "telegram"), row(4, datetime(2026, 3, 1, 8, tzinfo=UTC))]
    assert r.tickets_per_month(rows) == {date(2026, 2, 1): {"telegram": 1}, date(2026, 3, 1): {"email": 2},
                                         date(2026, 4, 1): {"email": 1}}


def test_percentiles_and_median_by_nearest_rank() -> None:
    assert r.median([3, 1, 2]) == 2 and r.median([4, 1, 3, 2]) == 2.5 and r.median([]) is None
    values = list(range(1, 11))  # 1..10: p90 is the 9th value
    assert r.nearest_rank(values, 0.9) == 9 and r.nearest_rank([5], 0.9) == 5
    s = r.spread([2 * H, None, 30 * timedelta(minutes=1), 10 * H])
    assert (s.count, s.median_hours, s.p90_hours) == (3, 2.0, 10.0)


def test_compliance_counts_only_targets_with_an_outcome() -> None:
    t = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [
        row(1, t, first_response_at=t, resolved_at=t),
        row(2, t, first_response_at=t, first_response_breached=True),
        row(3, t),  # nothing yet
        row(4, t, resolution_breached=True, first_response_breached=True),
    ]
    c = r.sla_compliance(rows)
    assert (c["first_response"].met, c["first_response"].breached, c["first_response"].rate) == (1, 2, 1 / 3)
    assert (c["resolution"].met, c["resolution"].breached, c["resolution"].rate) == (1, 1, 0.5)
    assert r.Compliance(0, 0).rate is None


def test_backlog_by_age_counts_open_tickets_only() -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    rows = [row(1, now - 2 * H), row(2, now - timedelta(days=2), status="pending"), row(3, now - timedelta(days=5)),
            row(4, now - timedelta(days=10)), row(5, now - timedelta(days=40)), row(6, now - timedelta(days=40),
                                                                                    status="resolved")]
    assert r.backlog_by_age(rows, now) == {"moins d'un jour": 1, "1 à 3 jours": 1, "3 à 7 jours": 1,
                                           "7 à 30 jours": 1, "plus de 30 jours": 1}


def test_counts_by_theme_pays_and_satisfaction_and_deflection() -> None:
    t = datetime(2026, 3, 2, tzinfo=UTC)
    rows = [row(1, t, tags=("budget", "scdl"), pays="Pays de Mauriac"), row(2, t, tags=("budget",), pays=None),
            row(3, t, tags=("cadastre",), pays="Pays de Mauriac")]
    assert r.count_by(rows, lambda x: x.tags) == [("budget", 2), ("cadastre", 1), ("scdl", 1)]
    assert r.count_by(rows, lambda x: [x.pays]) == [("Pays de Mauriac", 2)]
    sat = r.satisfaction([5, 4, 4, 1])
    assert sat.count == 4 and sat.average == 3.5 and sat.by_score == {1: 1, 2: 0, 3: 0, 4: 2, 5: 1}
    d = r.deflection(["helpful", "human", None, "helpful"], [("a", True), ("b", False), ("b", False), ("a", True),
                                                              ("b", True), ("c", False)])
    assert (d.suggestions, d.answered, d.to_staff, d.rate) == (4, 2, 1, 0.5)
    assert d.most_used == [("a", 2), ("b", 1)] and d.least_useful == [("b", 2, 1), ("c", 1, 0)]
