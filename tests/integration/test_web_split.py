"""Splitting a wrongly threaded message into a ticket of its own, and why each message is where it is.

Both databases. A colleague (same mail domain: a participant) answered an old acknowledgement with a new
question: intake threads it by In-Reply-To, the page says so in French, and staff split it out.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Event, Message, Ticket, TicketLink
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.values import IntakeAction
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from helpdesk.web.labels import thread_reason
from tests.support.web import add_staff, attachment, login, mail, web_client


async def test_split_moves_the_message_and_its_attachment_to_a_new_linked_ticket(
        db: Database, clock: FixedClock, services: Services,
) -> None:
    _, agent = await add_staff(services)
    first = await services.intake.receive(mail("<q1@x>"))
    n = first.ticket_number or 0
    clock.advance(hours=2)
    stray = await services.intake.receive(mail(
        "<q2@x>", sender_email="marc@mairie-murat.fr", sender_name="Marc", subject="RE: Subventions 2025 en CSV ?",
        text="Autre sujet : comment publier nos subventions ?", in_reply_to=("<q1@x>",),
        attachments=(attachment("subventions.csv", "text/csv", b"a;b\n1;2\n"),)))
    assert stray.action is IntakeAction.APPENDED and stray.ticket_number == n
    clock.advance(hours=1)
    async with web_client(services) as client:
        token = await login(client, "agent@craig.fr")
        page = await (await client.get(f"/tickets/{n}")).text()
        assert "Pourquoi ici : rattaché par l&#39;en-tête In-Reply-To" in page
        assert f'action="/tickets/{n}/messages/{stray.message_id}/split"' in page
        refused = await client.post(f"/tickets/{n}/messages/{stray.message_id}/split", data={})
        assert refused.status == 403  # no CSRF token, nothing moved
        resp = await client.post(f"/tickets/{n}/messages/{stray.message_id}/split", data={"csrf_token": token},
                                 allow_redirects=False)
        assert resp.status == 303
        new = int(re.search(r"/tickets/(\d+)$", resp.headers["Location"]).group(1))
        assert new != n
        page = await (await client.get(f"/tickets/{new}")).text()
        assert "Subventions 2025 en CSV ?" in page and "séparé du ticket" in page
        assert "/split" not in page  # one inbound message: nothing more to split
    old, moved = await services.tickets.get_json(n), await services.tickets.get_json(new)
    assert [m["text"] for m in old["messages"] if m["direction"] == "inbound"] == [mail("<q1@x>").visible_text]
    assert [m["direction"] for m in moved["messages"]] == ["inbound", "note"]
    assert moved["requester"]["email"] == "marc@mairie-murat.fr" and moved["subject"] == "Subventions 2025 en CSV ?"
    async with db.transaction() as s:
        ticket = (await s.scalars(select(Ticket).where(Ticket.number == new))).one()
        message = await s.get(Message, stray.message_id)
        assert message is not None and message.ticket_id == ticket.id
        assert ticket.created_at == message.created_at  # the request started when it arrived
        assert ticket.first_response_due is not None  # its own SLA clock
        att = (await s.scalars(select(Attachment).where(Attachment.message_id == message.id))).one()
        assert att.filename == "subventions.csv"
        links = (await s.execute(select(TicketLink.kind, TicketLink.other_id).where(
            TicketLink.ticket_id == ticket.id))).all()
        assert [k for k, _ in links] == ["split_from"]
        audit = (await s.scalars(select(Event).where(Event.kind == "ticket.split"))).all()
        assert len(audit) == 2 and {e.actor_id for e in audit} == {agent}
    # Threading follows the message: a reply to it now lands on the new ticket.
    follow = await services.intake.receive(mail("<q3@x>", sender_email="marc@mairie-murat.fr",
                                                in_reply_to=("<q2@x>",)))
    assert follow.ticket_number == new


async def test_split_refuses_what_cannot_be_split(services: Services) -> None:
    admin, _ = await add_staff(services)
    only = await services.intake.receive(mail("<o1@x>"))
    other = await services.intake.receive(mail("<o2@x>", sender_email="paul@x.fr"))
    n = only.ticket_number or 0
    view = services.merge_split
    with pytest.raises(ValidationError, match="seul message reçu"):
        await view.split(n, only.message_id or 0, admin)
    reply = await services.tickets.reply(n, admin, "Réponse")
    await services.intake.receive(mail("<o3@x>", in_reply_to=("<o1@x>",)))
    with pytest.raises(ValidationError, match="seul un message reçu"):
        await view.split(n, reply, admin)
    with pytest.raises(NotFound):
        await view.split(n, other.message_id or 0, admin)  # a message of another ticket
    with pytest.raises(NotFound):
        await view.split(n, 2**40, admin)


def test_thread_reasons_read_in_french() -> None:
    assert thread_reason("threaded by References") == \
        "rattaché par l'en-tête References (un message de ce ticket y est cité)"
    assert thread_reason("threaded by In-Reply-To; ticket #1004 closed: follow-up opened") == (
        "rattaché par l'en-tête In-Reply-To (une réponse à un message de ce ticket) ; "
        "le ticket #1004 étant fermé, ce ticket de suite a été ouvert")
    assert thread_reason("split from #1001 by staff (was: new: no reference to a known ticket)") == (
        "séparé du ticket #1001 par l'équipe (avant : nouveau ticket : aucune référence à un ticket connu)")
    assert thread_reason("something new") == "something new"
    assert thread_reason(None) == ""

