"""Admin use cases on the SLA: policies and their targets, closures of the calendar, routing rules.

A target change never loses the time already spent: the figures are recomputed from the event log
of the open tickets in the same call (`SlaService.recompute`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlmodel import col

from helpdesk.app.sla.service import SlaService, ensure_defaults
from helpdesk.db.engine import Database
from helpdesk.db.tables import RoutingRule, SlaCalendar, SlaClosure, SlaPolicy, Team
from helpdesk.domain.errors import ErrorCode, NotFound, ValidationError
from helpdesk.domain.values import OrgKind, Priority
from helpdesk.ports import Clock

TARGET_KEYS = ("first_response", "resolution")


MAX_CLOSURE_DAYS = 92  # a summer or a year-end closure fits; years do not


def merged_span(starts_on: date, ends_on: date, others: list[tuple[date, date]]) -> tuple[date, date]:
    """The span of the new closure once joined with the closures it overlaps or touches."""
    changed = True
    while changed:
        changed = False
        for a, b in others:
            if a <= ends_on + timedelta(days=1) and b >= starts_on - timedelta(days=1) and (
                    a < starts_on or b > ends_on):
                starts_on, ends_on, changed = min(a, starts_on), max(b, ends_on), True
    return starts_on, ends_on


def _check_closure_span(starts_on: date, ends_on: date, *, joined: bool = False) -> None:
    days = (ends_on - starts_on).days + 1
    if days > MAX_CLOSURE_DAYS:
        what = "Avec les fermetures qu'elle prolonge, cette fermeture" if joined else "Cette fermeture"
        raise ValidationError(
            f"{what} couvrirait {days} jours (du {starts_on:%d/%m/%Y} au {ends_on:%d/%m/%Y}) : une fermeture "
            f"dure au plus {MAX_CLOSURE_DAYS} jours. Vérifiez les dates (l'année ?) ; pour un arrêt plus long, "
            "changez les horaires du calendrier."
        )


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """One SLA policy as the admin page and `helpdesk sla policies` show it. ``targets`` and ``overrides`` are the
    stored JSON: {priority: {"first_response": minutes | None, "resolution": minutes | None}}, and the same
    per organization kind."""

    name: str
    default: bool
    calendar: str
    targets: dict[str, Any]
    overrides: dict[str, Any]
    warn_ratio: float
    pending_reminder_days: int
    auto_close_days: int


@dataclass(frozen=True, slots=True)
class ClosureRow:
    """A closure of a calendar, from ``starts_on`` to ``ends_on`` inclusive."""

    id: int
    calendar: str
    starts_on: date
    ends_on: date
    label: str


class RulesCacheLike(Protocol):
    def invalidate(self) -> None: ...


class SlaAdmin:
    def __init__(self, db: Database, clock: Clock, rules: RulesCacheLike | None = None) -> None:
        self.db = db
        self.clock = clock
        self.rules = rules  # the routing hook's cache (bootstrap), so a removed rule stops routing at once

    async def policies(self) -> list[PolicyRow]:
        async with self.db.transaction() as s:
            await ensure_defaults(s, self.clock.now())
            rows = (await s.execute(select(SlaPolicy, SlaCalendar).join(
                SlaCalendar, col(SlaCalendar.id) == col(SlaPolicy.calendar_id)).order_by(col(SlaPolicy.id)))).all()
            return [PolicyRow(name=p.name, default=p.is_default, calendar=c.name, targets=p.targets,
                              overrides=p.overrides, warn_ratio=p.warn_ratio,
                              pending_reminder_days=p.pending_reminder_days, auto_close_days=p.auto_close_days)
                    for p, c in rows]

    async def set_target(self, policy: str, priority: str, *, first_response: int | None, resolution: int | None,
                         organization_kind: str | None = None) -> int:
        """Set one priority's targets in business minutes (None: no target); returns tickets recomputed."""
        if priority not in set(Priority):
            raise ValidationError(f"unknown priority {priority!r}")
        if organization_kind is not None and organization_kind not in set(OrgKind):
            raise ValidationError(f"unknown organization kind {organization_kind!r}")
        if any(v is not None and v <= 0 for v in (first_response, resolution)):
            raise ValidationError("a target is a positive number of business minutes")
        value = {"first_response": first_response, "resolution": resolution}
        async with self.db.transaction() as s:
            await ensure_defaults(s, self.clock.now())
            row = (await s.scalars(select(SlaPolicy).where(col(SlaPolicy.name) == policy))).first()
            if row is None:
                raise NotFound(f"SLA policy {policy!r} not found", code=ErrorCode.SLA_POLICY_NOT_FOUND, name=policy)
            if organization_kind:
                overrides = dict(row.overrides)
                overrides[organization_kind] = {**overrides.get(organization_kind, {}), priority: value}
                row.overrides = overrides
            else:
                row.targets = {**row.targets, priority: value}
            row.updated_at = self.clock.now()
        return await SlaService(self.db, self.clock).recompute(only_open=True)

    async def add_closure(self, starts_on: date, ends_on: date, label: str = "", calendar: str | None = None) -> int:
        """Close the centre from ``starts_on`` to ``ends_on`` (inclusive). A closure, alone or run together
        with the ones it touches, is at most MAX_CLOSURE_DAYS long: a typo in a year must not leave the
        calendar without working time (every deadline would move years away)."""
        if ends_on < starts_on:
            raise ValidationError("Une fermeture se termine le jour de son début ou après.")
        _check_closure_span(starts_on, ends_on)
        async with self.db.transaction() as s:
            await ensure_defaults(s, self.clock.now())
            cal = await self._calendar(s, calendar)
            existing = (await s.execute(select(col(SlaClosure.starts_on), col(SlaClosure.ends_on)).where(
                col(SlaClosure.calendar_id) == cal.id))).all()
            _check_closure_span(*merged_span(starts_on, ends_on, [(a, b) for a, b in existing]), joined=True)
            closure = SlaClosure(calendar_id=cal.id or 0, starts_on=starts_on, ends_on=ends_on, label=label)
            s.add(closure)
            await s.flush()
            assert closure.id is not None
        await SlaService(self.db, self.clock).recompute(only_open=True)
        return closure.id

    async def closures(self) -> list[ClosureRow]:
        async with self.db.transaction() as s:
            rows = (await s.execute(select(SlaClosure, col(SlaCalendar.name)).join(
                SlaCalendar, col(SlaCalendar.id) == col(SlaClosure.calendar_id))
                .order_by(col(SlaClosure.starts_on)))).all()
            return [ClosureRow(id=c.id or 0, calendar=name, starts_on=c.starts_on, ends_on=c.ends_on, label=c.label)
                    for c, name in rows]

    async def remove_closure(self, closure_id: int) -> None:
        async with self.db.transaction() as s:
            done = await s.execute(delete(SlaClosure).where(col(SlaClosure.id) == closure_id))
            if not done.rowcount:  # type: ignore[attr-defined]
                raise NotFound(f"closure {closure_id} not found", code=ErrorCode.CLOSURE_NOT_FOUND, id=closure_id)
        await SlaService(self.db, self.clock).recompute(only_open=True)

    async def teams(self) -> list[str]:
        async with self.db.transaction() as s:
            return list((await s.scalars(select(col(Team.name)).order_by(col(Team.name)))).all())

    async def remove_rule(self, rule_id: int) -> None:
        async with self.db.transaction() as s:
            done = await s.execute(delete(RoutingRule).where(col(RoutingRule.id) == rule_id))
            if not done.rowcount:  # type: ignore[attr-defined]
                raise NotFound(f"routing rule {rule_id} not found", code=ErrorCode.ROUTING_RULE_NOT_FOUND, id=rule_id)
        if self.rules is not None:
            self.rules.invalidate()

    async def _calendar(self, s: Any, name: str | None) -> SlaCalendar:
        stmt = select(SlaCalendar).order_by(col(SlaCalendar.id))
        if name:
            stmt = stmt.where(col(SlaCalendar.name) == name)
        cal: SlaCalendar | None = (await s.scalars(stmt.limit(1))).first()
        if cal is None:
            raise NotFound(f"calendar {name!r} not found", code=ErrorCode.CALENDAR_NOT_FOUND, name=name)
        return cal
