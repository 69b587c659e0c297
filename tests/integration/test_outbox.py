"""The Outbox dispatcher: leases, retries, dead rows, and no double send across instances."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.outbox import OutboxDispatcher
from helpdesk.app.staff.accounts import UserService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Message, Outbox
from helpdesk.domain.values import Channel, StaffRole
from helpdesk.ports import FixedClock
from tests.support.fakes import RecordingSender, SendError


async def seed_replies(db: Database, clock: FixedClock, n: int) -> list[int]:
    intake, tickets = IntakeService(db, clock), TicketService(db, clock)
    staff = await UserService(db, clock).add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")
    ids = []
    for i in range(n):
        res = await intake.receive(
            InboundMessage(channel=Channel.EMAIL, external_id=f"<s{i}@x>", sender_email=f"p{i}@x.fr",
                           subject=f"Question {i}", visible_text="?")
        )
        assert res.ticket_number
        ids.append(await tickets.reply(res.ticket_number, staff, f"Réponse {i}"))
    return ids


async def test_reply_is_sent_once_with_its_fixed_message_id(db: Database, clock: FixedClock) -> None:
    [msg_id] = await seed_replies(db, clock, 1)
    sender = RecordingSender()
    dispatcher = OutboxDispatcher(db, clock, {"email": sender})
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0
    payload = sender.sent[0]
    assert payload["subject"] == "[#1000] Question 0" and payload["to"] == "p0@x.fr"
    assert payload["in_reply_to"] == "<s0@x>" and payload["references"] == ["<s0@x>"]
    async with db.transaction() as s:
        msg = await s.get(Message, msg_id)
        assert msg is not None and msg.delivery_status == "sent" and msg.external_id == payload["message_id"]


async def test_temporary_failure_retries_later_and_permanent_failure_is_dead(db: Database, clock: FixedClock) -> None:
    await seed_replies(db, clock, 2)
    flaky = OutboxDispatcher(db, clock, {"email": RecordingSender(SendError("421 try later"))}, max_attempts=3)
    assert await flaky.run_once() == 2
    assert await flaky.run_once() == 0  # backed off: not due yet
    clock.advance(hours=2)
    ok = RecordingSender()
    assert await OutboxDispatcher(db, clock, {"email": ok}).run_once() == 2
    assert len(ok.sent) == 2

    await seed_replies_more(db, clock)
    dead = OutboxDispatcher(db, clock, {"email": RecordingSender(SendError("550 no such user", permanent=True))})
    assert await dead.run_once() == 1
    async with db.transaction() as s:
        row = (await s.scalars(select(Outbox).where(Outbox.status == "dead"))).one()
        assert row.last_error == "550 no such user"
        msg = await s.get(Message, row.message_id)
        assert msg is not None and msg.delivery_status == "failed"
    events = [e["kind"] for e in await TicketService(db, clock).events(1002)]
    assert "reply.failed" in events


async def seed_replies_more(db: Database, clock: FixedClock) -> None:
    intake, tickets = IntakeService(db, clock), TicketService(db, clock)
    res = await intake.receive(
        InboundMessage(channel=Channel.EMAIL, external_id="<more@x>", sender_email="z@x.fr", visible_text="?")
    )
    assert res.ticket_number
    await tickets.reply(res.ticket_number, 1, "Réponse")


async def test_expired_lease_is_taken_over(db: Database, clock: FixedClock) -> None:
    await seed_replies(db, clock, 1)
    crashed = OutboxDispatcher(db, clock, {"email": RecordingSender()}, owner="a", lease_seconds=60)
    assert len(await crashed.claim()) == 1  # claimed, then the instance "dies" before sending
    other = RecordingSender()
    survivor = OutboxDispatcher(db, clock, {"email": other}, owner="b")
    assert await survivor.run_once() == 0
    clock.advance(seconds=61)
    assert await survivor.run_once() == 1 and len(other.sent) == 1


async def test_two_instances_never_send_a_row_twice(db: Database, clock: FixedClock) -> None:
    await seed_replies(db, clock, 40)
    a, b = RecordingSender(delay=0.001), RecordingSender(delay=0.001)
    da = OutboxDispatcher(db, clock, {"email": a}, owner="a")
    db2 = Database(db.url)
    dbb = OutboxDispatcher(db2, clock, {"email": b}, owner="b")

    async def drain(d: OutboxDispatcher) -> None:
        while await d.run_once(limit=3):
            pass

    await asyncio.gather(drain(da), drain(dbb))
    await db2.dispose()
    sent = Counter(p["message_id"] for p in a.sent + b.sent)
    assert len(sent) == 40 and max(sent.values()) == 1
