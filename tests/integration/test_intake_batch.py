"""A batch stored in stages gives exactly what the same messages give one at a time (both backends).

The batch mixes every dependency the staged writer must respect: a reply to a message of the same
batch (a second copy of one is in test_intake.py), two new tickets from one new sender, a participant's tag, an
outsider's tag, a reply to a closed ticket (follow-up), to a resolved one (reopened), an automatic
reply. Each run uses its own addresses and ids, so both runs share one database; ticket numbers are
compared by their order of creation within the run.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from helpdesk.app.intake.messages import InboundAttachment, InboundMessage, IntakeResult
from helpdesk.app.intake.service import IntakeService
from helpdesk.app.tickets.service import TicketService
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Contact, Event, Message, Ticket, TicketLink
from helpdesk.domain.values import Channel, TicketStatus
from helpdesk.ports import FixedClock


def mail(run: str, ext: str, sender: str, **kw: Any) -> InboundMessage:
    return InboundMessage(**{
        "channel": Channel.EMAIL, "external_id": f"<{ext}.{run}@x>", "sender_email": f"{sender}.{run}@mairie.fr",
        "sender_name": sender.title(), "subject": "Question budget", "visible_text": f"texte {ext}",
        "raw": f"raw {ext} {run}".encode(), **kw,
    })


def mid(run: str, ext: str) -> str:
    return f"<{ext}.{run}@x>"


async def scenario(intake: IntakeService, tickets: TicketService, run: str) -> list[InboundMessage]:
    """Prior state (one message at a time), then the batch under test."""
    t0 = await intake.receive(mail(run, "t0", "sylvie"))
    t1 = await intake.receive(mail(run, "t1", "paul"))
    t2 = await intake.receive(mail(run, "t2", "anne"))
    assert t0.ticket_number and t1.ticket_number and t2.ticket_number
    for status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        await tickets.set_status(t1.ticket_number, status, None)
    await tickets.set_status(t2.ticket_number, TicketStatus.RESOLVED, None)
    csv = InboundAttachment("budget.csv", "text/csv", b"a;b\n1;2\n")
    return [
        mail(run, "a", "nouveau", attachments=(csv,)),
        mail(run, "a-reply", "nouveau", in_reply_to=(mid(run, "a"),)),
        mail(run, "tag", "sylvie", subject=f"RE: [#{t0.ticket_number}] Question budget"),
        # Another organisation (a colleague from mairie.fr would be a participant: same mail domain).
        mail(run, "outsider", "intrus", subject=f"[#{t0.ticket_number}] Question budget",
             sender_email=f"intrus.{run}@autre-commune.fr"),
        mail(run, "late", "paul", in_reply_to=(mid(run, "t1"),)),
        mail(run, "back", "anne", references=(mid(run, "t2"),)),
        mail(run, "b", "nouveau", attachments=(csv,)),
        mail(run, "ooo", "sylvie", in_reply_to=(mid(run, "t0"),), automatic=True, automatic_reason="ooo"),
        mail(run, "cc", "collegue", references=(mid(run, "x"), mid(run, "a-reply"))),
    ]


async def snapshot(db: Database, run: str, results: list[IntakeResult]) -> dict[str, Any]:
    async with db.transaction() as s:
        rows = (await s.scalars(select(Ticket).join(Contact, Contact.id == Ticket.requester_id)
                                .where(Contact.email.like(f"%.{run}@%")).order_by(Ticket.number))).all()
        order = {t.number: i for i, t in enumerate(rows)}

        def norm(text: str | None) -> str:  # "#1008" → "#1" (its order in the run)
            return re.sub(r"#(\d+)", lambda g: f"#{order.get(int(g.group(1)), '?')}", text or "")

        ids = {t.id: order[t.number] for t in rows}
        tickets = []
        for t in rows:
            events = (await s.scalars(select(Event).where(Event.ticket_id == t.id).order_by(Event.id))).all()
            messages = (await s.scalars(select(Message).where(Message.ticket_id == t.id).order_by(Message.id))).all()
            links = (await s.scalars(select(TicketLink).where(TicketLink.ticket_id == t.id))).all()
            requester = await s.get(Contact, t.requester_id)
            attachments = [a.filename for m in messages for a in (await s.scalars(
                select(Attachment).where(Attachment.message_id == m.id))).all()]
            tickets.append({
                "status": t.status, "subject": norm(t.subject), "parent": ids.get(t.parent_id),
                "requester": (requester.email or "").replace(f".{run}@", "@") if requester else None,
                "events": [(e.kind, {k: norm(str(v)) for k, v in e.data.items()
                                     if k in {"old", "new", "reason", "link", "automatic"}}) for e in events],
                "messages": [((m.external_id or "").replace(f".{run}@", "@"), norm(m.thread_reason), m.automatic)
                             for m in messages],
                "links": sorted((ids.get(link.other_id), link.kind) for link in links),
                "attachments": attachments,
                "sla_due": (t.first_response_due is not None, t.sla_policy),
            })
        contacts = await s.scalars(select(Contact.email).where(Contact.email.like(f"%.{run}@%")))
        return {
            "results": [(r.action.value, order.get(r.ticket_number or -1), norm(r.reason),
                         order.get(r.follow_up_of or -1)) for r in results],
            "tickets": tickets,
            "contacts": sorted((c or "").replace(f".{run}@", "@") for c in contacts.all()),
        }


async def test_a_batch_gives_what_one_message_at_a_time_gives(db: Database, clock: FixedClock) -> None:
    from helpdesk.app.intake.routing import RoutingHook

    class Recording(IntakeService):
        careful: list[bool] = []

        async def _in_transaction(self, msgs: Any, *, savepoints: bool) -> Any:
            self.careful.append(savepoints)
            return await super()._in_transaction(msgs, savepoints=savepoints)

    intake, tickets = Recording(db, clock, [RoutingHook()]), TicketService(db, clock)
    single = await scenario(intake, tickets, "one")
    one_by_one = [await intake.receive(m) for m in single]
    batched = await scenario(intake, tickets, "all")
    intake.careful.clear()
    outcomes = await intake.receive_batch(batched)
    assert intake.careful == [False]  # the staged path, not the one-message-at-a-time fallback
    assert all(isinstance(o, IntakeResult) for o in outcomes), outcomes
    expected = await snapshot(db, "one", one_by_one)
    got = await snapshot(db, "all", [o for o in outcomes if isinstance(o, IntakeResult)])
    for key in expected:
        if key == "tickets":
            for i, (g, e) in enumerate(zip(got[key], expected[key], strict=True)):
                assert g == e, (i, {k: (g[k], e[k]) for k in e if g[k] != e[k]})
        assert got[key] == expected[key], key
    # And the batch did what the scenario says (so the comparison is not between two wrong runs).
    actions = [a for a, *_ in got["results"]]
    assert actions == ["created", "appended", "appended", "created", "created", "appended",
                       "created", "appended", "appended"]
    a_ticket = got["results"][0][1]
    assert got["results"][1][1] == a_ticket and got["results"][8][1] == a_ticket  # threaded inside the batch
    assert got["results"][6][1] != a_ticket  # same new sender, a second ticket
    assert got["contacts"].count("nouveau@mairie.fr") == 1
    assert got["results"][4][3] == 1  # follow-up of the closed ticket (second of the run)
    statuses = [t["status"] for t in got["tickets"]]
    assert statuses[1] == "closed" and statuses[2] == "open"
