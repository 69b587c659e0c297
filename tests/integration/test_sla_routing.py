"""Routing and SLA due times on intake, recomputation after staff changes, `recompute` and `explain`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from helpdesk.app.intake.messages import InboundMessage, OrganizationHint
from helpdesk.app.intake.routing import RoutingHook, RoutingRules
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.sla.service import DueTimes, SlaService, refresh
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import KbEntry, SlaPolicy, StaffUser, Team, TeamMember, Ticket
from helpdesk.domain.errors import NotFound
from helpdesk.domain.values import OrgKind, Priority, StaffRole, TicketStatus
from helpdesk.ports import FixedClock
from tests.support.builders import inbound

MAURIAC = OrganizationHint("Commune de Mauriac", OrgKind.COMMUNE, pays="Pays de Mauriac")


def mail(ext: str, sender: str = "maire@mauriac.fr", **kw: Any) -> InboundMessage:
    return inbound(ext, sender=sender, sender_name=None, subject="Question", text="Bonjour", raw=None, **kw)



async def seed_team(db: Database, clock: FixedClock, name: str, members: list[tuple[str, bool]]) -> list[int]:
    users = UserService(db, clock)
    ids = [await users.add(email, StaffRole.AGENT, "motdepasse-solide") for email, _ in members]
    async with db.transaction() as s:
        team = Team(name=name)
        s.add(team)
        await s.flush()
        for staff_id, (_, available) in zip(ids, members, strict=True):
            (await s.get(StaffUser, staff_id)).available = available  # type: ignore[union-attr]
            s.add(TeamMember(team_id=team.id, staff_id=staff_id))
    return ids


def services(db: Database, clock: FixedClock) -> tuple[IntakeService, TicketService]:
    tickets = TicketService(db, clock)
    tickets.after_change.append(refresh)
    return IntakeService(db, clock, [RoutingHook()]), tickets


async def test_rules_route_assign_round_robin_and_set_sla(db: Database, clock: FixedClock) -> None:
    a, b, _away = await seed_team(db, clock, "Cantal", [("a@craig.fr", True), ("b@craig.fr", True),
                                                       ("c@craig.fr", False)])
    rules = RoutingRules(db, clock)
    await rules.add("Pays de Mauriac", pays=["Pays de Mauriac"], team="Cantal", priority="high", tags=["cantal"])
    await rules.add("budgets", faq_tags=["budget"], tags=["budget"])
    intake, tickets = services(db, clock)
    numbers = []
    for i in range(3):
        res = await intake.receive(mail(f"<r{i}@x>", organization=MAURIAC, force_new=True,
                                        meta={"faq_tags": ["budget", "scdl"]}))
        numbers.append(res.ticket_number)
    async with db.transaction() as s:
        rows = (await s.scalars(select(Ticket).order_by(Ticket.number))).all()
    assert [t.assignee_id for t in rows] == [a, b, a]
    t = rows[0]
    assert t.priority == "high" and t.tags == ["budget", "cantal"] and t.sla_policy == "standard"
    # Monday 2 March 10:30 in Paris; high: 4 h to answer, 2 working days (15 h) to resolve.
    assert t.first_response_due == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)  # 15:30 Paris
    assert t.resolution_due == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)  # Wednesday 10:30 Paris
    data = await tickets.get_json(numbers[0])
    assert data["sla"] == {"policy": "standard", "first_response_due": "2026-03-02T14:30:00+00:00",
                           "resolution_due": "2026-03-04T09:30:00+00:00", "first_response_breached": False,
                           "resolution_breached": False, "paused": False}
    kinds = [e["kind"] for e in await tickets.events(numbers[0])]
    assert {"ticket.team_changed", "ticket.priority_changed", "ticket.tags_changed", "ticket.assigned"} <= set(kinds)


async def test_one_batch_routes_round_robin_and_times_each_new_ticket_before_it_is_written(
        db: Database, clock: FixedClock) -> None:
    a, b = await seed_team(db, clock, "Cantal", [("a@craig.fr", True), ("b@craig.fr", True)])
    await RoutingRules(db, clock).add("Pays de Mauriac", pays=["Pays de Mauriac"], team="Cantal", priority="high",
                                      assign="round_robin")
    intake, tickets = services(db, clock)
    await intake.receive(mail("<first@x>", organization=MAURIAC, force_new=True))  # a: the team's latest
    outcomes = await intake.receive_batch([mail(f"<b{i}@x>", organization=MAURIAC, force_new=True)
                                           for i in range(4)])
    numbers = [o.ticket_number for o in outcomes]  # type: ignore[union-attr]
    async with db.transaction() as s:
        rows = (await s.scalars(select(Ticket).where(Ticket.number.in_(numbers)).order_by(Ticket.number))).all()
    assert [t.assignee_id for t in rows] == [b, a, b, a]  # round robin carries on inside the batch
    assert all(t.priority == "high" and t.first_response_due == datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
               for t in rows)
    kinds = [e["kind"] for e in await tickets.events(numbers[0])]  # type: ignore[arg-type]
    assert kinds[:2] == ["ticket.created", "message.received"]
    assert {"ticket.team_changed", "ticket.priority_changed", "ticket.assigned"} <= set(kinds)


async def test_faq_entry_tags_route_and_no_rule_means_default_policy(db: Database, clock: FixedClock) -> None:
    await seed_team(db, clock, "Finances", [("f@craig.fr", True)])
    await RoutingRules(db, clock).add("budgets", faq_tags=["budget"], team="Finances", assign="manual")
    async with db.transaction() as s:
        s.add(KbEntry(id="budget-scdl", title="Budget", tags=["budget", "scdl"], updated_at=clock.now()))
    intake, _ = services(db, clock)
    routed = await intake.receive(mail("<f1@x>", meta={"faq_entry_ids": ["budget-scdl", "autre"]}))
    plain = await intake.receive(mail("<f2@x>", sender="autre@x.fr"))
    by_email = await intake.receive(mail("<f3@x>", sender="trois@x.fr", meta={
        "faq_suggestions": [{"id": "budget-scdl", "title": "Budget", "score": 0.8}]}))
    async with db.transaction() as s:
        t1 = (await s.scalars(select(Ticket).where(Ticket.number == routed.ticket_number))).one()
        t2 = (await s.scalars(select(Ticket).where(Ticket.number == plain.ticket_number))).one()
        team = (await s.scalars(select(Team).where(Team.name == "Finances"))).one()
        t3 = (await s.scalars(select(Ticket).where(Ticket.number == by_email.ticket_number))).one()
    assert t1.team_id == team.id and t1.assignee_id is None  # manual assignment in that team
    assert t3.team_id == team.id
    assert t2.team_id is None and t2.priority == "normal"
    assert t2.first_response_due == datetime(2026, 3, 3, 9, 30, tzinfo=UTC)  # one working day: Tuesday 10:30


async def test_pause_on_pending_and_resume_on_the_requesters_reply(db: Database, clock: FixedClock) -> None:
    intake, tickets = services(db, clock)
    staff = (await seed_team(db, clock, "T", [("t@craig.fr", True)]))[0]
    n = (await intake.receive(mail("<p1@x>"))).ticket_number
    assert n is not None
    clock.advance(hours=1)
    await tickets.reply(n, staff, "Pouvez-vous préciser ?")
    await tickets.set_status(n, TicketStatus.PENDING, staff)
    paused = (await tickets.get_json(n))["sla"]
    assert paused["paused"] and paused["resolution_due"] is None and paused["first_response_due"] is None
    clock.set(datetime(2026, 3, 6, 15, 0, tzinfo=UTC))  # Friday 16:00 Paris, four days later
    await intake.receive(mail("<p2@x>", in_reply_to=("<p1@x>",)))
    resumed = (await tickets.get_json(n))["sla"]
    # 1 h spent before the pause; 36 h 30 left from Friday 16:00: 1 h 30 on Friday, 4 days, then 5 h
    # on Friday 13 March (9:00-12:30, 13:30-15:00).
    assert not resumed["paused"] and resumed["resolution_due"] == "2026-03-13T14:00:00+00:00"
    await tickets.set_priority(n, Priority.URGENT, staff)  # 7 h 30 in all, 1 h spent: 1 h 30 Friday, 5 h Monday
    assert (await tickets.get_json(n))["sla"]["resolution_due"] == "2026-03-09T14:00:00+00:00"


async def test_recompute_after_a_policy_change_and_explain(db: Database, clock: FixedClock) -> None:
    intake, tickets = services(db, clock)
    n = (await intake.receive(mail("<c1@x>"))).ticket_number
    assert n is not None
    async with db.transaction() as s:
        policy = (await s.scalars(select(SlaPolicy))).one()
        policy.targets = {**policy.targets, "normal": {"first_response": 30, "resolution": 60}}
    clock.set(datetime(2026, 3, 2, 11, 0, tzinfo=UTC))  # 12:00 Paris: 1 h 30 spent
    sla = SlaService(db, clock)
    assert await sla.recompute() == 1
    data = (await tickets.get_json(n))["sla"]
    assert data["first_response_breached"] and data["resolution_breached"]
    assert data["first_response_due"] == "2026-03-02T10:00:00+00:00"
    out = await sla.explain("standard", datetime(2026, 3, 6, 16, 25, tzinfo=UTC))
    assert out.targets["urgent"] == DueTimes(first_response_due=datetime(2026, 3, 9, 8, 55, tzinfo=UTC),
                                             resolution_due=datetime(2026, 3, 9, 16, 25, tzinfo=UTC))
    with pytest.raises(NotFound):
        await sla.explain("nope", datetime(2026, 3, 6, 16, 25, tzinfo=UTC))


async def test_override_per_organization_kind_applies_to_its_tickets(db: Database, clock: FixedClock) -> None:
    from helpdesk.app.sla.admin import SlaAdmin

    await SlaAdmin(db, clock).set_target("standard", "normal", first_response=120, resolution=None,
                                         organization_kind="commune")
    intake, tickets = services(db, clock)
    commune = (await intake.receive(mail("<k1@x>", organization=MAURIAC))).ticket_number
    other = (await intake.receive(mail("<k2@x>", sender="x@y.fr"))).ticket_number
    assert commune is not None and other is not None
    c, o = (await tickets.get_json(commune))["sla"], (await tickets.get_json(other))["sla"]
    assert c["first_response_due"] == "2026-03-02T11:30:00+00:00"  # 2 h for a commune
    assert o["first_response_due"] == "2026-03-03T09:30:00+00:00"  # one working day otherwise
    assert c["resolution_due"] == o["resolution_due"] == "2026-03-09T09:30:00+00:00"  # inherited: 5 days
