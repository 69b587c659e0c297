"""Linking a chat to an email address with a one-time code: one contact, one history."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.db.tables import Contact, Ticket
from helpdesk.domain.values import Channel, StaffRole
from tests.e2e.telegram.harness import CHAT, Harness

EMAIL = "sylvie@mairie-murat.fr"


async def test_code_by_email_links_the_chat_to_the_email_history(tg: Harness) -> None:
    email_ticket = await tg.services.intake.receive(InboundMessage(
        channel=Channel.EMAIL, external_id="<m1@mairie-murat.fr>", sender_email=EMAIL, sender_name="Sylvie Martin",
        subject="Publication du budget", visible_text="Bonjour, comment publier le budget ?", raw=b"raw",
    ))
    number = await tg.hand_over(email=EMAIL)
    assert number == (email_ticket.ticket_number or 0) + 1
    # Before confirmation the typed address finds nobody's tickets.
    sent = await tg.say("/mesdemandes")
    assert "Publication du budget" not in sent[-1]["text"]

    [mail] = [r for r in await tg.outbox("email")]
    assert mail.payload["to"] == EMAIL and mail.payload["subject"] == "Votre code de confirmation Telegram"
    assert mail.ticket_id is None and mail.status == "pending"
    code = await tg.code_sent()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    sent = await tg.say(wrong)
    assert sent[-1]["text"] == "Code incorrect. Il vous reste 4 essais."
    sent = await tg.say(code)
    assert sent[-1]["text"].startswith(f"Adresse confirmée : {EMAIL}.")

    async with tg.services.db.transaction() as s:
        contacts = (await s.scalars(select(Contact))).all()
        tickets = (await s.scalars(select(Ticket).order_by(Ticket.number))).all()
    assert [(c.email, c.telegram_chat_id) for c in contacts if c.telegram_chat_id] == [(EMAIL, CHAT)]
    owner = next(c.id for c in contacts if c.email == EMAIL)
    assert [t.requester_id for t in tickets] == [owner, owner]
    sent = await tg.say("/mesdemandes")
    assert "Publication du budget" in sent[-1]["text"] and f"n°{number}" in sent[-1]["text"]
    # The chat's ticket is still answered in the chat.
    agent = await tg.services.users.add("a@craig.fr", StaffRole.AGENT, "0123456789ab")
    await tg.services.tickets.reply(number, agent, "Réponse.")
    [row] = await tg.outbox("telegram")
    assert row.payload["chat_id"] == CHAT
    # A code used once is gone.
    sent = await tg.say(code)
    assert "Ajouté à votre demande" in sent[-1]["text"]


async def test_too_many_wrong_codes_cancel_the_code(tg: Harness) -> None:
    await tg.hand_over(email=EMAIL)
    code = await tg.code_sent()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        sent = await tg.say(wrong)
        assert sent[-1]["text"].endswith(f"{left} essai{'s' if left > 1 else ''}.")
    sent = await tg.say(wrong)
    assert "Trop d'essais" in sent[-1]["text"]
    sent = await tg.say(code)  # no code pending any more: it is just a message on the ticket
    assert "Ajouté à votre demande" in sent[-1]["text"]
    async with tg.services.db.transaction() as s:
        linked = (await s.scalars(select(Contact).where(Contact.email == EMAIL))).first()
    assert linked is None


async def test_an_expired_code_is_refused(tg: Harness) -> None:
    await tg.hand_over(email=EMAIL)
    code = await tg.code_sent()
    tg.clock.advance(minutes=31)
    sent = await tg.say(code)
    assert "Ajouté à votre demande" in sent[-1]["text"]  # expired: not treated as a code
    async with tg.services.db.transaction() as s:
        assert (await s.scalars(select(Contact).where(Contact.email == EMAIL))).first() is None
