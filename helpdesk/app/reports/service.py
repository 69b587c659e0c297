"""Reports for staff: collects rows from the database, then the pure figures of helpdesk.domain.reports.

Business times come from the SLA clock over each ticket's events (pauses excluded), with the
ticket's own policy calendar. CSV exports use ``;`` and a BOM so that a French spreadsheet opens them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.sla.service import Policy, clock_event, load_policy
from helpdesk.db.engine import Database
from helpdesk.db.tables import ChatSuggestion, Event, FaqFeedback, Organization, Rating, Ticket
from helpdesk.domain import reports as r
from helpdesk.domain import sla
from helpdesk.domain.errors import NotFound
from helpdesk.domain.spreadsheet import neutralise, neutralise_rows
from helpdesk.ports import Clock

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime
    until: datetime
    rows: list[r.TicketRow]
    per_week: dict[Any, dict[str, int]]
    per_month: dict[Any, dict[str, int]]
    compliance: dict[str, r.Compliance]
    times: dict[str, r.Spread]
    backlog: dict[str, int]
    by_tag: list[tuple[str, int]]
    by_pays: list[tuple[str, int]]
    by_organization: list[tuple[str, int]]
    satisfaction: r.Satisfaction
    deflection: r.Deflection


def build_report(rows: list[r.TicketRow], backlog_rows: Iterable[r.TicketRow], scores: Iterable[int],
                 outcomes: Iterable[str | None], feedback: Iterable[tuple[str, bool]], since: datetime,
                 until: datetime) -> Report:
    return Report(
        since=since, until=until, rows=rows, per_week=r.tickets_per_week(rows),
        per_month=r.tickets_per_month(rows), compliance=r.sla_compliance(rows),
        times=r.business_times(rows), backlog=r.backlog_by_age(backlog_rows, until),
        by_tag=r.count_by(rows, lambda t: t.tags), by_pays=r.count_by(rows, lambda t: [t.pays]),
        by_organization=r.count_by(rows, lambda t: [t.organization]),
        satisfaction=r.satisfaction(scores), deflection=r.deflection(outcomes, feedback),
    )


class ReportService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def report(self, weeks: int = 12) -> Report:
        until = self.clock.now()
        since = until - timedelta(weeks=weeks)
        async with self.db.transaction() as s:
            in_range = select(Ticket).where(col(Ticket.created_at) >= since, col(Ticket.created_at) < until)
            rows = await self._rows(s, in_range, until)
            backlog = await self._rows(s, select(Ticket).where(col(Ticket.status).in_(sorted(r.OPEN))), until,
                times=False)
            scores = (await s.scalars(select(col(Rating.score)).where(col(Rating.created_at) >= since,
                                                                 col(Rating.created_at) < until))).all()
            shown = (await s.execute(select(col(ChatSuggestion.outcome), col(ChatSuggestion.entry_ids)).where(
                col(ChatSuggestion.created_at) >= since, col(ChatSuggestion.created_at) < until))).all()
            outcomes = [outcome for outcome, entries in shown if entries]  # an abstention suggested nothing
            feedback = (await s.execute(select(col(FaqFeedback.entry_id), col(FaqFeedback.helpful)).where(
                col(FaqFeedback.created_at) >= since, col(FaqFeedback.created_at) < until))).all()
        return build_report(rows, backlog, scores, outcomes, [(e, bool(h)) for e, h in feedback], since, until)

    async def _rows(self, s: AsyncSession, stmt: Any, now: datetime, *, times: bool = True) -> list[r.TicketRow]:
        pairs = (await s.execute(stmt.add_columns(Organization).join(
            Organization, Organization.id == Ticket.organization_id, isouter=True).order_by(Ticket.id))).all()
        events: dict[int, list[sla.ClockEvent]] = defaultdict(list)
        if times:
            ids = [t.id for t, _ in pairs]
            for start in range(0, len(ids), CHUNK):
                evs = (await s.scalars(select(Event).where(col(Event.ticket_id).in_(ids[start:start + CHUNK]))
                                       .order_by(col(Event.id)))).all()
                for e in evs:
                    ce = clock_event(e)
                    if ce is not None and e.ticket_id is not None:
                        events[e.ticket_id].append(ce)
        policies: dict[str | None, Policy] = {}
        out = []
        for t, org in pairs:
            fr = res = None
            fr_late, res_late = t.first_response_breached, t.resolution_breached
            if times:  # figures as of now from the event log, not the cached columns
                if t.sla_policy not in policies:
                    try:
                        policies[t.sla_policy] = await load_policy(s, t.sla_policy, now)
                    except NotFound:
                        policies[t.sla_policy] = await load_policy(s, None, now)
                policy = policies[t.sla_policy]
                targets = policy.targets_for(t.priority, org.kind if org else None)
                st = sla.compute_sla(events[t.id or 0], targets, policy.calendar, now)
                fr = st.first_response_elapsed if st.first_response_at else None
                res = st.resolution_elapsed if st.resolved_at else None
                fr_late, res_late = st.first_response_breached, st.resolution_breached
            out.append(r.TicketRow(
                number=t.number, created_at=t.created_at, channel=t.channel, status=t.status, priority=t.priority,
                organization=org.name if org else None, pays=org.pays if org else None, tags=tuple(t.tags),
                first_response_at=t.first_response_at, resolved_at=t.resolved_at,
                first_response_breached=fr_late, resolution_breached=res_late,
                first_response_business=fr, resolution_business=res,
            ))
        return out


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    writer.writerows(neutralise_rows(rows))  # no formula from a public form reaches a spreadsheet
    return "\ufeff" + buf.getvalue()


def _hours(d: timedelta | None) -> str:
    return f"{d.total_seconds() / 3600:.2f}".replace(".", ",") if d is not None else ""


def csv_export(report: Report, table: str, labels: Mapping[str, str] | None = None) -> str:
    """One table of the report as CSV: tickets, months, weeks, tags, pays, organizations.

    ``labels`` words the codes (channel, status, priority) for people, e.g. ``email`` -> ``Courriel``."""
    word = (lambda code: labels.get(code, code)) if labels else (lambda code: code)
    if table == "tickets":
        return to_csv(
            ["ticket", "ouvert le", "canal", "statut", "priorité", "organisation", "pays", "thèmes",
             "première réponse (h ouvrées)", "résolution (h ouvrées)", "première réponse en retard",
             "résolution en retard"],
            ([t.number, t.created_at.isoformat(), word(t.channel), word(t.status), word(t.priority),
              t.organization or "", t.pays or "", ", ".join(t.tags), _hours(t.first_response_business),
              _hours(t.resolution_business),
              "oui" if t.first_response_breached else "non", "oui" if t.resolution_breached else "non"]
             for t in report.rows))
    if table in ("weeks", "months"):
        per = report.per_week if table == "weeks" else report.per_month
        channels = sorted({c for counts in per.values() for c in counts})
        return to_csv(["semaine du" if table == "weeks" else "mois", *map(word, channels)],
                      ([start.isoformat() if table == "weeks" else start.strftime("%Y-%m"),
                        *(counts.get(c, 0) for c in channels)] for start, counts in per.items()))
    tables = {"tags": ("thème", report.by_tag), "pays": ("pays", report.by_pays),
              "organizations": ("organisation", report.by_organization)}
    if table not in tables:
        raise NotFound(f"no report table {table!r}")
    label, pairs = tables[table]
    return to_csv([label, "questions"], pairs)
