"""The escalation job with a controlled clock: each notice once, two instances never notify twice."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.app.intake.routing import RoutingHook, RoutingRules
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.app.sla.escalation import EscalationJob
from helpdesk.app.sla.service import refresh
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Event, Message, Outbox, SlaNotification, StaffUser, Team, TeamMember, Ticket
from helpdesk.domain.values import StaffRole, TicketStatus
from helpdesk.ports import FixedClock
from tests.support.builders import inbound
from tests.support.waiting import wait_until

STAFF_CHAT = -100123


def mail(ext: str, sender: str = "maire@mauriac.fr", **kw: Any) -> InboundMessage:
    return inbound(ext, sender=sender, sender_name=None, subject="Plan cadastral", text="Bonjour", raw=None, **kw)



async def setup(db: Database, clock: FixedClock) -> dict[str, int]:
    users = UserService(db, clock)
    ids = {
        "agent": await users.add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide"),
        "lead": await users.add("lead@craig.fr", StaffRole.AGENT, "motdepasse-solide"),
        "admin": await users.add("admin@craig.fr", StaffRole.ADMIN, "motdepasse-solide"),
    }
    async with db.transaction() as s:
        team = Team(name="Cantal")
        s.add(team)
        await s.flush()
        s.add(TeamMember(team_id=team.id, staff_id=ids["agent"]))
        s.add(TeamMember(team_id=team.id, staff_id=ids["lead"], is_lead=True))
        (await s.get(StaffUser, ids["lead"])).available = False  # type: ignore[union-attr]
    await RoutingRules(db, clock).add("all", team="Cantal")
    return ids


def job(db: Database, clock: FixedClock) -> EscalationJob:
    return EscalationJob(db, clock, public_url="https://assistance.craig.fr", staff_chat=STAFF_CHAT)


async def outbox(db: Database) -> list[tuple[str, dict[str, object]]]:
    async with db.transaction() as s:
        rows = (await s.scalars(select(Outbox).where(Outbox.idempotency_key.like("sla:%")).order_by(Outbox.id))).all()
        return [(r.channel, r.payload) for r in rows]


async def test_warning_at_75_percent_then_breach_each_once(db: Database, clock: FixedClock) -> None:
    ids = await setup(db, clock)
    intake = IntakeService(db, clock, [RoutingHook()])
    n = (await intake.receive(mail("<e1@x>"))).ticket_number  # Monday 2 March 10:30 Paris
    assert n is not None
    # normal: first response within 7 h 30 (Tuesday 10:30); 75 % is Monday 17:07:30 Paris.
    clock.set(datetime(2026, 3, 2, 16, 7, tzinfo=UTC))
    assert (await job(db, clock).run_once()).warnings == 0
    clock.set(datetime(2026, 3, 2, 16, 8, tzinfo=UTC))
    first = await job(db, clock).run_once()
    again = await job(db, clock).run_once()
    assert (first.warnings, again.warnings) == (1, 0)
    rows = await outbox(db)
    assert [(ch, p["to"]) for ch, p in rows] == [("email", "agent@craig.fr")]
    assert "75 %" in str(rows[0][1]["text"]) and "mardi 3 mars 2026 à 10 h 30" in str(rows[0][1]["text"])
    assert f"ticket n° {n}" in str(rows[0][1]["subject"]) and "[#" not in str(rows[0][1]["subject"])

    clock.set(datetime(2026, 3, 3, 9, 31, tzinfo=UTC))
    breach = await job(db, clock).run_once()
    assert (breach.breaches, breach.warnings) == (1, 0)
    assert (await job(db, clock).run_once()).breaches == 0
    rows = (await outbox(db))[1:]
    assert sorted(str(p.get("to", p.get("chat_id"))) for _, p in rows) == sorted(
        ["lead@craig.fr", "admin@craig.fr", str(STAFF_CHAT)])
    assert [p["text"] for ch, p in rows if ch == "telegram"][0].startswith("Le délai de première réponse")
    async with db.transaction() as s:
        t = (await s.scalars(select(Ticket).where(Ticket.number == n))).one()
        kinds = (await s.scalars(select(Event.kind).where(Event.kind.like("sla.%")).order_by(Event.id))).all()
    assert t.first_response_breached and not t.resolution_breached  # the badge in the queue
    assert kinds == ["sla.warning", "sla.breach"]
    assert ids["lead"] != t.assignee_id == ids["agent"]


async def test_two_instances_on_one_database_notify_once(db: Database, clock: FixedClock) -> None:
    await setup(db, clock)
    intake = IntakeService(db, clock, [RoutingHook()])
    for i in range(6):
        await intake.receive(mail(f"<c{i}@x>", sender=f"p{i}@x.fr"))
    clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))  # every first response is late
    other = Database(db.url)
    try:
        reports = await asyncio.gather(job(db, clock).run_once(), job(other, clock).run_once())
        later = await job(other, clock).run_once()  # a second instance coming after sees the notices taken
    finally:
        await other.dispose()
    assert sum(r.breaches for r in reports) == 6 and later.breaches == 0
    async with db.transaction() as s:
        notices = await s.scalar(select(func.count()).select_from(SlaNotification)
                                 .where(SlaNotification.threshold == "breach"))
    assert notices == 6
    rows = await outbox(db)
    assert len(rows) == 6 * 3  # lead, admin, staff chat: once per ticket

    # Two dispatchers on the same database deliver each notice once.
    sent: list[tuple[object, ...]] = []

    class Recorder:
        async def send(self, payload: Mapping[str, Any]) -> None:
            await asyncio.sleep(0)
            sent.append((payload.get("to"), payload.get("chat_id"), payload["text"]))

    other = Database(db.url)
    try:
        senders = {"email": Recorder(), "telegram": Recorder()}
        first, second = OutboxDispatcher(db, clock, senders, owner="a"), OutboxDispatcher(other, clock, senders,
                                                                                          owner="b")
        while sum(await asyncio.gather(first.run_once(limit=5), second.run_once(limit=5))):
            pass
    finally:
        await other.dispose()
    assert len(sent) == 18 and len(set(sent)) == 18


async def test_pending_reminder_after_three_business_days_and_auto_close(db: Database, clock: FixedClock) -> None:
    ids = await setup(db, clock)
    intake = IntakeService(db, clock, [RoutingHook()])
    tickets = TicketService(db, clock)
    tickets.after_change.append(refresh)
    n = (await intake.receive(mail("<q1@x>"))).ticket_number
    assert n is not None
    await tickets.reply(n, ids["agent"], "Pouvez-vous nous envoyer le fichier ?")
    await tickets.set_status(n, TicketStatus.PENDING, ids["agent"])  # Monday 10:30 Paris
    clock.set(datetime(2026, 3, 5, 9, 29, tzinfo=UTC))  # Thursday 10:29: 2 days 23 h 59 of work
    assert (await job(db, clock).run_once()).reminders == 0
    clock.set(datetime(2026, 3, 5, 9, 30, tzinfo=UTC))
    assert (await job(db, clock).run_once()).reminders == 1
    assert (await job(db, clock).run_once()).reminders == 0
    async with db.transaction() as s:
        reminder = (await s.scalars(select(Message).where(Message.automatic))).one()
        row = (await s.scalars(select(Outbox).where(Outbox.message_id == reminder.id))).one()
    assert reminder.direction == "outbound" and "attendons votre réponse" in reminder.visible_text
    assert row.payload["to"] == "maire@mauriac.fr" and row.payload["subject"] == f"[#{n}] Plan cadastral"
    sla = (await tickets.get_json(n))["sla"]
    assert sla["paused"] and not sla["first_response_breached"]

    await tickets.set_status(n, TicketStatus.RESOLVED, ids["agent"])
    clock.set(datetime(2026, 3, 12, 9, 29, tzinfo=UTC))
    assert (await job(db, clock).run_once()).closed == 0
    clock.set(datetime(2026, 3, 12, 9, 30, tzinfo=UTC))
    assert (await job(db, clock).run_once()).closed == 1
    data = await tickets.get_json(n)
    assert data["status"] == "closed"
    events = [e for e in await tickets.events(n) if e["kind"] == "status.changed"]
    assert events[-1]["data"]["reason"] == "closed automatically 7 days after resolution"
    assert events[-1]["actor_kind"] == "system"


async def test_the_serve_starter_runs_the_job_with_the_staff_chat_setting(db: Database, clock: FixedClock) -> None:
    from helpdesk.bootstrap import Edges, build, start_escalation, starters
    from helpdesk.config import Settings

    assert start_escalation in starters()
    settings = Settings(database_url=db.url, telegram_staff_chat=STAFF_CHAT, smtp_enabled=False)
    services = build(settings, clock=clock)
    try:
        await setup(services.db, clock)
        await services.intake.receive(mail("<s1@x>"))  # the bootstrap's intake routes and sets the SLA
        clock.set(datetime(2026, 3, 3, 10, 0, tzinfo=UTC))
        stop = await start_escalation(Edges(services, settings), interval=0.05)
        try:
            async def staff_chat_notified() -> bool:
                return any(ch == "telegram" for ch, _ in await outbox(services.db))

            await wait_until(staff_chat_notified, "the escalation loop queued the staff-chat breach notice")
        finally:
            await stop()
        rows = await outbox(services.db)
        assert [p for ch, p in rows if ch == "telegram"][0]["chat_id"] == STAFF_CHAT
        assert len(rows) == 3
    finally:
        await services.db.dispose()
