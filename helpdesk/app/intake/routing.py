"""Routing use cases: rules from the database, the intake hook that routes new tickets and sets SLA.

The hook runs inside the intake transaction: team, priority, tags, assignee, SLA policy and due
times commit together with the message. The FAQ tags of the best suggestion come from the inbound
message's ``meta``: ``faq_tags`` (a list), or the entry ids of ``faq_entry_ids`` or ``faq_suggestions``
(best first, as the email channel sets them), looked up in the FAQ.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.intake.service import IntakeContext, TicketDraft
from helpdesk.app.sla.service import PolicyCache, SlaFields, apply_sla, organization_kind, store_sla
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry, Organization, RoutingRule, StaffUser, Team, TeamMember, Ticket
from helpdesk.domain import sla as sla_domain
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.routing import AssignMode, RoutingInput, Rule, round_robin, route
from helpdesk.domain.values import Priority
from helpdesk.ports import Clock


@dataclass(frozen=True, slots=True)
class LoadedRules:
    rules: list[Rule]
    teams: dict[str, int]  # team name -> id
    policies: dict[str, str]  # rule name -> SLA policy name


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One routing rule as the SLA admin page and `helpdesk routing list` show it (fields as stored)."""

    id: int
    position: int
    name: str
    enabled: bool
    channels: list[str]
    organizations: list[str]
    pays: list[str]
    organization_kinds: list[str]
    faq_tags: list[str]
    team_id: int | None
    priority: str | None
    tags: list[str]
    assign: str | None
    sla_policy: str | None
    stop: bool

    @classmethod
    def of(cls, r: RoutingRule) -> RuleRow:
        assert r.id is not None
        return cls(id=r.id, position=r.position, name=r.name, enabled=r.enabled, channels=list(r.channels),
                   organizations=list(r.organizations), pays=list(r.pays),
                   organization_kinds=list(r.organization_kinds), faq_tags=list(r.faq_tags), team_id=r.team_id,
                   priority=r.priority, tags=list(r.tags), assign=r.assign, sla_policy=r.sla_policy, stop=r.stop)


class RulesCache:
    """The rules for a few seconds, so that intake does not read them for every batch.

    One cache is shared (bootstrap builds it) by the routing hook and by whatever changes the rules:
    a change made through this process calls ``invalidate`` and shows at once; one made by another
    instance shows within ``ttl``.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._generation = 0  # bumped by every change to the rules made through this cache's users
        self._hit: tuple[float, int, LoadedRules] | None = None

    def invalidate(self) -> None:
        self._generation += 1

    def fresh(self) -> LoadedRules | None:
        hit = self._hit
        if hit is not None and hit[1] == self._generation and time.monotonic() - hit[0] < self.ttl:
            return hit[2]
        return None

    async def get(self, s: AsyncSession) -> LoadedRules:
        loaded = self.fresh()
        if loaded is not None:
            return loaded
        generation = self._generation
        loaded = await _read_rules(s)
        self._hit = (time.monotonic(), generation, loaded)
        return loaded


class FaqTagRules:
    """Whether an enabled rule routes by FAQ tags: only then must intake search the FAQ before routing."""

    def __init__(self, db: Database, cache: RulesCache | None = None) -> None:
        self.db = db
        self.cache = cache or RulesCache()

    async def needed(self) -> bool:
        loaded = self.cache.fresh()
        if loaded is None:
            async with self.db.transaction() as s:
                loaded = await self.cache.get(s)
        return any(rule.faq_tags for rule in loaded.rules)


async def _read_rules(s: AsyncSession) -> LoadedRules:
    rows = (await s.scalars(select(RoutingRule).where(col(RoutingRule.enabled)).order_by(col(RoutingRule.position),
                                                                                      col(RoutingRule.id)))).all()
    teams = {t.name: t.id for t in (await s.scalars(select(Team))).all() if t.id is not None}
    names = {v: k for k, v in teams.items()}
    rules = [
        Rule(
            name=r.name, channels=tuple(r.channels), organizations=tuple(r.organizations), pays=tuple(r.pays),
            organization_kinds=tuple(r.organization_kinds), faq_tags=tuple(r.faq_tags),
            team=names.get(r.team_id) if r.team_id else None, priority=r.priority, tags=tuple(r.tags),
            assign=AssignMode(r.assign) if r.assign else None, stop=r.stop,
        )
        for r in rows
    ]
    return LoadedRules(rules, teams, {r.name: r.sla_policy for r in rows if r.sla_policy})


async def faq_tags(s: AsyncSession, meta: dict[str, Any]) -> frozenset[str]:
    tags = meta.get("faq_tags")
    if isinstance(tags, list | tuple):
        return frozenset(str(t) for t in tags)
    ids = meta.get("faq_entry_ids")
    suggestions = meta.get("faq_suggestions")  # the email channel's [{"id", "title", "score", "tags"}], best first
    if not ids and isinstance(suggestions, list | tuple) and suggestions and isinstance(suggestions[0], dict):
        if isinstance(suggestions[0].get("tags"), list):  # the FAQ index gave them: no need to read the entry
            return frozenset(str(t) for t in suggestions[0]["tags"])
        ids = [suggestions[0].get("id")]
    if isinstance(ids, list | tuple) and ids and ids[0]:
        known: dict[str, frozenset[str]] = s.info.setdefault("routing.faq_tags", {})  # per intake batch
        entry_id = str(ids[0])
        if entry_id not in known:
            found = await s.scalar(select(col(KbEntry.tags)).where(col(KbEntry.id) == entry_id))
            known[entry_id] = frozenset(found or ())
        return known[entry_id]
    return frozenset()


async def next_assignee(s: AsyncSession, team_id: int, last: int | None = None) -> int | None:
    """The next available member of the team after ``last`` (by default, the team's latest assignee)."""
    available = (
        await s.scalars(
            select(col(StaffUser.id)).join(TeamMember, col(TeamMember.staff_id) == col(StaffUser.id))
            .where(col(TeamMember.team_id) == team_id, col(StaffUser.is_active), col(StaffUser.available))
        )
    ).all()
    if last is None:
        last = await s.scalar(
            select(col(Ticket.assignee_id)).where(col(Ticket.team_id) == team_id, col(Ticket.assignee_id).is_not(None))
            .order_by(col(Ticket.id).desc()).limit(1)
        )
    return round_robin([a for a in available if a is not None], last)


Change = tuple[EventKind, dict[str, Any]]


class RoutingFields(SlaFields, Protocol):
    """What routing reads and writes on a ticket: a stored Ticket or a new ticket's draft."""

    team_id: int | None
    assignee_id: int | None
    tags: list[str]


async def plan_routing(s: AsyncSession, ticket: RoutingFields, channel: str, meta: dict[str, Any], loaded: LoadedRules,
                       assigned: dict[int, int]) -> list[Change]:
    """Route one ticket: set its team, priority, tags, assignee and SLA policy; the events to record.

    ``ticket`` is stored or about to be written (an intake draft);
    ``assigned`` remembers the last assignee per team within one intake batch, for round robin.
    """
    org = await s.get(Organization, ticket.organization_id) if ticket.organization_id else None
    facts = RoutingInput(
        channel=channel, organization=org.name if org else None, pays=org.pays if org else None,
        organization_kind=org.kind if org else None, faq_tags=await faq_tags(s, meta),
    )
    decision = route(facts, loaded.rules)
    why = {"reason": "routing", "rules": list(decision.matched)}
    changes: list[Change] = []
    if decision.team and decision.team in loaded.teams and ticket.team_id is None:
        ticket.team_id = loaded.teams[decision.team]
        changes.append((EventKind.TEAM_CHANGED, {"old": None, "new": decision.team, **why}))
    if decision.priority and decision.priority != ticket.priority and decision.priority in set(Priority):
        changes.append((EventKind.PRIORITY_CHANGED, {"old": ticket.priority, "new": decision.priority, **why}))
        ticket.priority = decision.priority
    if decision.tags:
        tags = sorted({*ticket.tags, *(t.lower() for t in decision.tags)})
        if tags != list(ticket.tags):
            changes.append((EventKind.TAGS_CHANGED, {"old": list(ticket.tags), "new": tags, **why}))
            ticket.tags = tags
    if ticket.team_id is not None and ticket.assignee_id is None and decision.assign is AssignMode.ROUND_ROBIN:
        assignee = await next_assignee(s, ticket.team_id, assigned.get(ticket.team_id))
        if assignee is not None:
            ticket.assignee_id = assigned[ticket.team_id] = assignee
            changes.append((EventKind.ASSIGNED, {"old": None, "new": assignee, "reason": "round robin"}))
    policy = next((loaded.policies[name] for name in decision.matched if name in loaded.policies), None)
    if policy:
        ticket.sla_policy = policy
    return changes


class RoutingHook:
    """Intake hook: routes new tickets and sets their SLA before they are written; recomputes the SLA of
    a ticket a message is appended to."""

    def __init__(self, policies: PolicyCache | None = None, rules: RulesCache | None = None) -> None:
        self.policies = policies or PolicyCache()
        self.rules = rules or RulesCache()

    async def before_open(self, drafts: Sequence[TicketDraft]) -> None:
        """Team, priority, tags, assignee and SLA go into the new rows: no UPDATE after the INSERT."""
        if not drafts:
            return
        s = drafts[0].session
        loaded = await self.rules.get(s)
        assigned: dict[int, int] = {}
        for d in drafts:
            ticket = d.ticket
            d.notes["routing"] = await plan_routing(s, ticket, d.inbound.channel.value, dict(d.inbound.meta),
                                                    loaded, assigned)
            policy = await self.policies.get(s, ticket.sla_policy, d.now)
            created = [sla_domain.ClockEvent(d.now, sla_domain.ClockEventKind.CREATED)]  # its only clock event
            store_sla(ticket, created, policy, await organization_kind(s, ticket), d.now)

    async def after_intake(self, ctx: IntakeContext) -> None:
        ticket = ctx.ticket
        if ctx.created:  # routed and timed in before_open: record the routing events now that it has an id
            for kind, data in ctx.prepared.get("routing", []):
                await store.record_event(ctx.session, kind=kind, now=ctx.now, ticket_id=ticket.id, **data)
            return
        policy = await self.policies.get(ctx.session, ticket.sla_policy, ctx.now)
        await apply_sla(ctx.session, ticket, ctx.now, policy)


class RoutingRules:
    """Admin use cases on the rules (the web admin and tests use them)."""

    def __init__(self, db: Database, clock: Clock, cache: RulesCache | None = None) -> None:
        self.db = db
        self.clock = clock
        self.cache = cache or RulesCache()

    async def add(self, name: str, *, position: int | None = None, team: str | None = None,
                  sla_policy: str | None = None, **fields: Any) -> int:
        if not name.strip():
            raise ValidationError("a routing rule needs a name")
        if fields.get("priority") is not None and fields["priority"] not in set(Priority):
            raise ValidationError(f"unknown priority {fields['priority']!r}")
        if fields.get("assign") is not None:
            fields["assign"] = AssignMode(fields["assign"]).value
        async with self.db.transaction() as s:
            team_id = None
            if team:
                team_id = await s.scalar(select(col(Team.id)).where(col(Team.name) == team))
                if team_id is None:
                    raise NotFound(f"team {team!r} not found")
            if position is None:
                top = await s.scalar(select(col(RoutingRule.position)).order_by(col(RoutingRule.position).desc())
                    .limit(1))
                position = (top or 0) + 10
            rule = RoutingRule(name=name, position=position, team_id=team_id, sla_policy=sla_policy, **fields)
            s.add(rule)
            await s.flush()
            assert rule.id is not None
        self.cache.invalidate()  # after the commit, so no intake caches the old rules under the new generation
        return rule.id

    async def list(self) -> Sequence[RuleRow]:
        async with self.db.transaction() as s:
            rows = (await s.scalars(select(RoutingRule).order_by(col(RoutingRule.position), col(RoutingRule.id)))).all()
            return [RuleRow.of(r) for r in rows]
