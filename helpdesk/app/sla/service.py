"""SLA use cases: policies and calendars from the database, figures recomputed from the event log.

Defaults are seeded on first use (idempotent, safe with two instances). The figures on a ticket are
only a cache of `compute_sla` over its events: `recompute` rebuilds them after a policy change.
"""

from __future__ import annotations

import logging
import time as time_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db.engine import Database
from helpdesk.db.tables import Event, Organization, SlaCalendar, SlaClosure, SlaPolicy, Ticket
from helpdesk.domain import sla
from helpdesk.domain.errors import ErrorCode, NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import OPEN_STATUSES, ActorKind, Priority
from helpdesk.ports import Clock

DEFAULT_CALENDAR = "Centre CRAIG"
DEFAULT_POLICY = "standard"
DAY = 450  # one working day of the default calendar, in minutes (7h30)
DEFAULT_TARGETS: dict[str, dict[str, int]] = {
    Priority.URGENT.value: {"first_response": 60, "resolution": DAY},
    Priority.HIGH.value: {"first_response": 240, "resolution": 2 * DAY},
    Priority.NORMAL.value: {"first_response": DAY, "resolution": 5 * DAY},
    Priority.LOW.value: {"first_response": 2 * DAY, "resolution": 10 * DAY},
}
DEFAULT_HOURS = {str(day): [["09:00", "12:30"], ["13:30", "17:30"]] for day in range(5)}

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DueTimes:
    """When a priority's targets fall due (None: no target)."""

    first_response_due: datetime | None
    resolution_due: datetime | None


@dataclass(frozen=True, slots=True)
class Explanation:
    """`helpdesk sla explain`: the due times of each priority for a ticket opened at ``start``, never paused."""

    policy: str
    start: datetime
    timezone: str
    targets: dict[str, DueTimes]  # by priority


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    calendar: sla.Calendar
    targets: dict[str, Any]
    overrides: dict[str, Any]
    warn_ratio: float
    pending_reminder_days: int
    auto_close_days: int

    def targets_for(self, priority: str, organization_kind: str | None = None) -> sla.Targets:
        base = dict(self.targets.get(priority) or {})
        if organization_kind:  # an override replaces the targets it sets; unset (None) ones are inherited
            override = (self.overrides.get(organization_kind) or {}).get(priority) or {}
            base.update({key: value for key, value in override.items() if value is not None})

        def minutes(key: str) -> timedelta | None:
            value = base.get(key)
            return timedelta(minutes=float(value)) if value is not None else None

        return sla.Targets(minutes("first_response"), minutes("resolution"))

    def all_targets(self) -> dict[str, sla.Targets]:
        return {p.value: self.targets_for(p.value) for p in Priority if p.value in self.targets}


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def calendar_from_rows(cal: SlaCalendar, closures: Sequence[SlaClosure]) -> sla.Calendar:
    hours = {int(day): tuple((_time(a), _time(b)) for a, b in slots) for day, slots in cal.hours.items()}
    return sla.Calendar(
        timezone=cal.timezone,
        hours=hours,
        holidays_country=cal.holidays_country,
        closures=tuple(sla.Closure(c.starts_on, c.ends_on, c.label) for c in closures),
    )


async def ensure_defaults(s: AsyncSession, now: datetime) -> None:
    """Seed the default calendar and policy when there is no policy yet (a no-op otherwise)."""
    if await s.scalar(select(col(SlaPolicy.id)).limit(1)) is not None:
        return
    try:
        async with s.begin_nested():
            cal = (await s.scalars(select(SlaCalendar).where(col(SlaCalendar.name) == DEFAULT_CALENDAR))).first()
            if cal is None:
                cal = SlaCalendar(name=DEFAULT_CALENDAR, hours=DEFAULT_HOURS)
                s.add(cal)
                await s.flush()
            assert cal.id is not None
            s.add(SlaPolicy(name=DEFAULT_POLICY, is_default=True, calendar_id=cal.id, targets=DEFAULT_TARGETS,
                            updated_at=now))
            await s.flush()
    except IntegrityError:
        pass  # another instance seeded them at the same moment


async def load_policy(s: AsyncSession, name: str | None, now: datetime) -> Policy:
    await ensure_defaults(s, now)
    stmt = select(SlaPolicy)
    stmt = stmt.where(col(SlaPolicy.name) == name) if name else stmt.order_by(col(SlaPolicy.is_default).desc(),
        col(SlaPolicy.id))
    row = (await s.scalars(stmt.limit(1))).first()
    if row is None:
        raise NotFound(f"SLA policy {name!r} not found", code=ErrorCode.SLA_POLICY_NOT_FOUND, name=name)
    cal = await s.get(SlaCalendar, row.calendar_id)
    assert cal is not None
    closures = (await s.scalars(select(SlaClosure).where(col(SlaClosure.calendar_id) == cal.id))).all()
    return Policy(row.name, calendar_from_rows(cal, closures), dict(row.targets), dict(row.overrides),
                  row.warn_ratio, row.pending_reminder_days, row.auto_close_days)


def clock_event(e: Event) -> sla.ClockEvent | None:
    """The SLA meaning of one audit event, or None when it does not touch the clock."""
    if e.kind == EventKind.TICKET_CREATED.value:
        return sla.ClockEvent(e.created_at, sla.ClockEventKind.CREATED)
    if e.kind == EventKind.STATUS_CHANGED.value:
        return sla.ClockEvent(e.created_at, sla.ClockEventKind.STATUS, status=e.data.get("new"),
                              reason=e.data.get("reason"))
    if e.kind == EventKind.REPLY_SENT.value and "staff_reply" in e.data:
        # A staff reply counts when the relay (or Telegram) accepted it, not when it was queued:
        # a reply that never leaves is no response (acknowledgements and reminders never count).
        return sla.ClockEvent(e.created_at, sla.ClockEventKind.STAFF_REPLY, automatic=not e.data["staff_reply"])
    if e.kind == EventKind.REPLY_QUEUED.value and "delivery" not in e.data:
        # Written before replies counted on delivery: the queued reply counts, as it did then.
        automatic = e.actor_kind != ActorKind.STAFF.value or bool(e.data.get("automatic"))
        return sla.ClockEvent(e.created_at, sla.ClockEventKind.STAFF_REPLY, automatic=automatic)
    return None


async def clock_events(s: AsyncSession, ticket_id: int) -> list[sla.ClockEvent]:
    rows = (await s.scalars(select(Event).where(col(Event.ticket_id) == ticket_id).order_by(col(Event.id)))).all()
    return [ce for ce in (clock_event(e) for e in rows) if ce is not None]


class SlaFields(Protocol):
    """What the SLA computation reads and writes on a ticket: a stored Ticket or a new ticket's draft."""

    number: int
    priority: str
    organization_id: int | None
    sla_policy: str | None
    first_response_at: datetime | None
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    sla_paused: bool


async def organization_kind(s: AsyncSession, ticket: SlaFields) -> str | None:
    if ticket.organization_id is None:
        return None
    org = await s.get(Organization, ticket.organization_id)
    return org.kind if org else None


async def apply_sla(s: AsyncSession, ticket: Ticket, now: datetime, policy: Policy | None = None) -> sla.SlaState:
    """Recompute the ticket's SLA figures from its events and store them on the ticket."""
    policy = policy or await load_policy(s, ticket.sla_policy, now)
    assert ticket.id is not None
    return store_sla(ticket, await clock_events(s, ticket.id), policy, await organization_kind(s, ticket), now)


async def batch_inputs(
    s: AsyncSession, tickets: Sequence[Ticket]
) -> tuple[dict[int, list[sla.ClockEvent]], dict[int, str]]:
    """The clock events and organization kinds of many tickets in two queries (the escalation job)."""
    ids = [t.id for t in tickets if t.id is not None]
    events: dict[int, list[sla.ClockEvent]] = {i: [] for i in ids}
    rows = (await s.scalars(select(Event).where(col(Event.ticket_id).in_(ids))
        .order_by(col(Event.id)))).all() if ids else []
    for e in rows:
        ce = clock_event(e)
        if ce is not None and e.ticket_id is not None:
            events[e.ticket_id].append(ce)
    org_ids = {t.organization_id for t in tickets if t.organization_id is not None}
    kinds = dict((await s.execute(select(col(Organization.id), col(Organization.kind)).where(
        col(Organization.id).in_(org_ids)))).all()) if org_ids else {}
    return events, {t.id: kinds[t.organization_id] for t in tickets
                    if t.id is not None and t.organization_id in kinds}


def store_sla(ticket: SlaFields, events: Sequence[sla.ClockEvent], policy: Policy, organization_kind: str | None,
              now: datetime) -> sla.SlaState:
    targets = policy.targets_for(ticket.priority, organization_kind)
    try:
        state = sla.compute_sla(events, targets, policy.calendar, now, warn_ratio=policy.warn_ratio)
    except ValueError as exc:  # no working time within the horizon: a ticket without deadlines, never no ticket
        log.warning("SLA of ticket %s not computed (%s): no deadline set", ticket.number, exc)
        state = sla.SlaState(None, None, False, False, False, None, None, sla.ZERO, sla.ZERO)
    ticket.sla_policy = policy.name
    ticket.first_response_at = state.first_response_at
    ticket.first_response_due = state.first_response_due
    ticket.resolution_due = state.resolution_due
    ticket.first_response_breached = state.first_response_breached
    ticket.resolution_breached = state.resolution_breached
    ticket.sla_paused = state.paused
    return state


async def refresh(s: AsyncSession, ticket: Ticket, now: datetime) -> sla.SlaState:
    """Recompute after a change (the TicketService callback, the intake hook); a deleted policy falls back."""
    try:
        policy = await load_policy(s, ticket.sla_policy, now)
    except NotFound:
        policy = await load_policy(s, None, now)
    return await apply_sla(s, ticket, now, policy)


class PolicyCache:
    """Policies by name for a few seconds, so that intake does not read them for every message."""

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._items: dict[str | None, tuple[float, Policy]] = {}

    async def get(self, s: AsyncSession, name: str | None, now: datetime) -> Policy:
        hit = self._items.get(name)
        if hit is not None and time_module.monotonic() - hit[0] < self.ttl:
            return hit[1]
        try:
            policy = await load_policy(s, name, now)
        except NotFound:  # a deleted policy: the default one
            policy = await load_policy(s, None, now)
        self._items[name] = (time_module.monotonic(), policy)
        return policy


class SlaService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def recompute(self, *, only_open: bool = False, batch: int = 200,
                        on_progress: Callable[[int, int | None], None] | None = None) -> int:
        """Rebuild the SLA figures of every ticket (or the open ones) from the event log.

        ``on_progress(tickets_just_done, total)`` after each batch (for the command line)."""
        now = self.clock.now()
        done, last_id = 0, 0
        policies: dict[str | None, Policy] = {}
        total: int | None = None
        if on_progress is not None:
            async with self.db.transaction() as s:
                counted = select(func.count()).select_from(Ticket)
                if only_open:
                    counted = counted.where(col(Ticket.status).in_([st.value for st in OPEN_STATUSES]))
                total = await s.scalar(counted)
        while True:
            async with self.db.transaction() as s:
                stmt = select(Ticket).where(col(Ticket.id) > last_id).order_by(col(Ticket.id)).limit(batch)
                if only_open:
                    stmt = stmt.where(col(Ticket.status).in_([st.value for st in OPEN_STATUSES]))
                tickets = (await s.scalars(stmt)).all()
                if not tickets:
                    return done
                for t in tickets:
                    if t.sla_policy not in policies:
                        try:
                            policies[t.sla_policy] = await load_policy(s, t.sla_policy, now)
                        except NotFound:  # the policy was deleted: fall back on the default
                            policies[t.sla_policy] = await load_policy(s, None, now)
                    await apply_sla(s, t, now, policies[t.sla_policy])
                    last_id = t.id or last_id
                    done += 1
            if on_progress is not None:
                on_progress(len(tickets), total)

    async def explain(self, policy_name: str, start: datetime) -> Explanation:
        async with self.db.transaction() as s:
            policy = await load_policy(s, policy_name, self.clock.now())
        if start.tzinfo is None:  # a wall-clock time in the policy's time zone
            start = start.replace(tzinfo=policy.calendar.tz)
        dues = sla.explain(start, policy.all_targets(), policy.calendar)
        return Explanation(policy=policy.name, start=start, timezone=policy.calendar.timezone,
                           targets={priority: DueTimes(due["first_response_due"], due["resolution_due"])
                                    for priority, due in dues.items()})
