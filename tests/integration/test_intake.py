"""Intake on both backends: idempotency, threading, reopen rules, follow-ups, audit log."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage, OrganizationHint
from helpdesk.app.intake.service import GroupCommitter, IntakeService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Blob, Message, Ticket, TicketLink
from helpdesk.domain.values import Channel, IntakeAction, OrgKind, TicketStatus
from helpdesk.ports import FixedClock
from tests.support.builders import inbound


def mail(ext: str, sender: str = "sylvie@mairie-exemple.fr", **kw: Any) -> InboundMessage:
    return inbound(ext, sender=sender, text="Bonjour, comment publier notre budget ?", **kw)



async def count(db: Database, model: type, *where: object) -> int:
    async with db.transaction() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_new_message_creates_ticket_with_contact_org_raw_and_attachment(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    res = await intake.receive(
        mail(
            "<a1@x>",
            attachments=(InboundAttachment("budget.csv", "text/csv", b"a;b\n1;2\n"),),
            organization=OrganizationHint("Commune de Murat", OrgKind.COMMUNE, insee_code="15138"),
        )
    )
    assert res.action is IntakeAction.CREATED and res.ticket_number == 1000
    data = await TicketService(db, clock).get_json(1000)
    assert data["requester"] == {"email": "sylvie@mairie-exemple.fr", "name": "Sylvie Martin",
                                 "organization": "Commune de Murat"}
    assert data["status"] == "new"
    [att] = data["messages"][0]["attachments"]
    assert att == {"id": att["id"], "filename": "budget.csv", "content_type": "text/csv", "size": 8}
    assert await count(db, Blob) == 2  # the raw original and the attachment
    kinds = [e["kind"] for e in await TicketService(db, clock).events(1000)]
    assert kinds == ["ticket.created", "message.received"]


async def test_same_message_twice_is_stored_once(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    first = await intake.receive(mail("<dup@x>"))
    second = await intake.receive(mail("<dup@x>"))
    assert second.action is IntakeAction.DUPLICATE and second.ticket_number == first.ticket_number
    assert await count(db, Message) == 1
    # The same external id on another channel is another message.
    third = await intake.receive(mail("<dup@x>", channel=Channel.TELEGRAM, sender_email=None, telegram_chat_id=5))
    assert third.action is IntakeAction.CREATED


async def test_concurrent_duplicates_race_to_one_message(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    results = await asyncio.gather(*(intake.receive(mail("<race@x>")) for _ in range(5)))
    assert sorted(r.action.value for r in results).count("created") == 1
    assert await count(db, Message) == 1 and await count(db, Ticket) == 1


async def test_threading_by_in_reply_to_references_and_tag(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    first = await intake.receive(mail("<m1@x>"))
    by_irt = await intake.receive(mail("<m2@x>", in_reply_to=("<m1@x>",), subject="RE: autre"))
    by_refs = await intake.receive(mail("<m3@x>", references=("<zzz@x>", "<m2@x>"), subject="x"))
    by_tag = await intake.receive(mail("<m4@x>", subject=f"RE: [#{first.ticket_number}] Publication"))
    for res, word in [(by_irt, "In-Reply-To"), (by_refs, "References"), (by_tag, "tag")]:
        assert res.action is IntakeAction.APPENDED and res.ticket_number == first.ticket_number
        assert word in res.reason
    assert await count(db, Ticket) == 1


async def test_threading_on_our_outbound_message_id(db: Database, clock: FixedClock) -> None:
    intake, tickets = IntakeService(db, clock), TicketService(db, clock)
    first = await intake.receive(mail("<q@x>"))
    assert first.ticket_number
    await tickets.reply(first.ticket_number, staff_id=await _staff(db), text="Voici la marche à suivre.")
    data = await tickets.get_json(first.ticket_number)
    assert data["status"] == "open" and data["first_response_at"] is None  # counted once the relay accepts it
    async with db.transaction() as s:
        ours = (await s.scalars(select(Message.external_id).where(Message.direction == "outbound"))).one()
    reply = await intake.receive(mail("<r@x>", in_reply_to=(ours,), subject="Re: sans tag"))
    assert reply.action is IntakeAction.APPENDED and reply.ticket_number == first.ticket_number


async def test_tag_from_outsider_opens_a_new_linked_ticket(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    first = await intake.receive(mail("<o1@x>"))
    intruder = await intake.receive(mail("<o2@x>", sender="autre@ailleurs.fr", subject=f"[#{first.ticket_number}] hi"))
    assert intruder.action is IntakeAction.CREATED and intruder.ticket_number != first.ticket_number
    assert "not a participant" in intruder.reason
    assert await count(db, TicketLink, TicketLink.kind == "tag_from_outsider") == 1


async def test_reply_reopens_resolved_and_closed_opens_follow_up(db: Database, clock: FixedClock) -> None:
    intake, tickets = IntakeService(db, clock), TicketService(db, clock)
    first = await intake.receive(mail("<l1@x>"))
    n = first.ticket_number
    assert n is not None
    await tickets.set_status(n, TicketStatus.RESOLVED, None)
    again = await intake.receive(mail("<l2@x>", in_reply_to=("<l1@x>",)))
    assert again.action is IntakeAction.APPENDED
    assert (await tickets.get_json(n))["status"] == "open"
    await tickets.set_status(n, TicketStatus.RESOLVED, None)
    await tickets.set_status(n, TicketStatus.CLOSED, None)
    late = await intake.receive(mail("<l3@x>", in_reply_to=("<l2@x>",)))
    assert late.action is IntakeAction.CREATED and late.follow_up_of == n and late.ticket_number != n
    assert (await tickets.get_json(n))["status"] == "closed"
    async with db.transaction() as s:
        child = (await s.scalars(select(Ticket).where(Ticket.number == late.ticket_number))).one()
        parent = (await s.scalars(select(Ticket).where(Ticket.number == n))).one()
        assert child.parent_id == parent.id
    statuses = [(e["data"]["old"], e["data"]["new"]) for e in await tickets.events(n) if e["kind"] == "status.changed"]
    assert statuses == [("new", "resolved"), ("resolved", "open"), ("open", "resolved"), ("resolved", "closed")]


async def test_automatic_reply_does_not_reopen(db: Database, clock: FixedClock) -> None:
    intake, tickets = IntakeService(db, clock), TicketService(db, clock)
    first = await intake.receive(mail("<a@x>"))
    assert first.ticket_number
    await tickets.set_status(first.ticket_number, TicketStatus.RESOLVED, None)
    auto = await intake.receive(mail("<b@x>", in_reply_to=("<a@x>",), automatic=True, automatic_reason="ooo"))
    assert auto.action is IntakeAction.APPENDED
    assert (await tickets.get_json(first.ticket_number))["status"] == "resolved"


async def test_group_commit_stores_every_message(db: Database, clock: FixedClock) -> None:
    group = GroupCommitter(IntakeService(db, clock), window=0.01)
    results = await asyncio.gather(*(group.receive(mail(f"<g{i}@x>", sender=f"p{i}@x.fr")) for i in range(30)))
    assert all(r.action is IntakeAction.CREATED for r in results)
    assert len({r.ticket_number for r in results}) == 30
    assert await count(db, Ticket) == 30


async def test_one_bad_message_in_a_batch_does_not_lose_the_others(db: Database, clock: FixedClock) -> None:
    class Boom:
        async def after_intake(self, ctx: object) -> None:
            if getattr(ctx, "inbound").external_id == "<bad@x>":  # noqa: B009
                raise RuntimeError("hook bug")

    intake = IntakeService(db, clock, hooks=[Boom()])
    outcomes = await intake.receive_batch([mail("<ok1@x>", sender="a@x.fr"), mail("<bad@x>", sender="b@x.fr"),
                                           mail("<ok2@x>", sender="c@x.fr")])
    assert isinstance(outcomes[1], RuntimeError)
    assert [getattr(o, "action", None) for o in (outcomes[0], outcomes[2])] == [IntakeAction.CREATED] * 2
    assert await count(db, Ticket) == 2 and await count(db, Message, Message.external_id == "<bad@x>") == 0


async def _staff(db: Database) -> int:
    from datetime import UTC, datetime

    from helpdesk.app.staff.accounts import UserService
    from helpdesk.domain.values import StaffRole

    users = UserService(db, FixedClock(datetime(2026, 1, 1, tzinfo=UTC)))
    return await users.add("agent@craig.fr", StaffRole.AGENT, "motdepasse-solide")


async def test_a_batch_holding_the_same_message_twice_stores_it_once(db: Database, clock: FixedClock) -> None:
    intake = IntakeService(db, clock)
    await intake.receive(mail("<old@x>"))
    outcomes = await intake.receive_batch([mail("<twice@x>"), mail("<old@x>"), mail("<twice@x>")])
    assert [getattr(o, "action", o) for o in outcomes] == [
        IntakeAction.CREATED, IntakeAction.DUPLICATE, IntakeAction.DUPLICATE
    ]
    assert await count(db, Message) == 2
