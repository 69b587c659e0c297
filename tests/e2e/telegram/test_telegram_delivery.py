"""Staff replies into the chat through the Outbox: delivered and marked, 429, 5xx, 403, long texts split."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from sqlalchemy import select

from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Rating
from helpdesk.domain.values import Priority, StaffRole, TicketStatus
from helpdesk.ports import FixedClock
from tests.e2e.telegram.fake_api import FakeBotApi
from tests.e2e.telegram.harness import CHAT, Harness, make_harness


async def staff(h: Harness) -> int:
    return await h.services.users.add("agent@craig.fr", StaffRole.AGENT, "un-mot-de-passe-solide")


async def test_staff_reply_is_delivered_into_the_chat_and_marked_delivered(tg: Harness) -> None:
    number = await tg.hand_over()
    before = len(tg.api.sent(CHAT))
    await tg.services.tickets.reply(number, await staff(tg), "Bonjour, utilisez le schéma SCDL <budget> & validez.")
    assert await tg.services.outbox.run_once() == 1
    sent = tg.api.sent(CHAT)[before:]
    assert len(sent) == 1 and sent[0]["parse_mode"] == "HTML"
    assert sent[0]["text"] == (f"<b>Réponse de l'équipe — demande n°{number}</b>\n\n"
                               "Bonjour, utilisez le schéma SCDL &lt;budget&gt; &amp; validez.")
    ticket = await tg.services.tickets.get_json(number)
    assert ticket["messages"][-1]["direction"] == "outbound"
    assert ticket["messages"][-1]["delivery_status"] == "sent"
    assert "reply.sent" in [e["kind"] for e in await tg.services.tickets.events(number)]


async def test_429_waits_for_retry_after_then_delivers(tg: Harness) -> None:
    number = await tg.hand_over()
    await tg.services.tickets.reply(number, await staff(tg), "Voici la réponse.")
    tg.api.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    await tg.services.outbox.run_once()
    [row] = await tg.outbox("telegram")
    assert row.status == "pending" and row.attempts == 1 and "429" in (row.last_error or "")
    assert row.next_attempt_at == tg.clock.now() + timedelta(seconds=7)
    tg.clock.advance(seconds=6)
    assert await tg.services.outbox.run_once() == 0  # not before retry_after
    tg.clock.advance(seconds=1)
    assert await tg.services.outbox.run_once() == 1
    [row] = await tg.outbox("telegram")
    assert row.status == "sent"
    assert (await tg.services.tickets.get_json(number))["messages"][-1]["delivery_status"] == "sent"


async def test_5xx_and_network_errors_retry_with_backoff(tg: Harness) -> None:
    number = await tg.hand_over()
    await tg.services.tickets.reply(number, await staff(tg), "Voici la réponse.")
    tg.api.fail("sendMessage", 502, "Bad Gateway")
    await tg.services.outbox.run_once()
    [row] = await tg.outbox("telegram")
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at >= tg.clock.now() + timedelta(seconds=20)  # backoff, not an immediate loop
    tg.api.fail("sendMessage", 500, "Internal Server Error")
    tg.clock.advance(minutes=1)
    await tg.services.outbox.run_once()
    [row] = await tg.outbox("telegram")
    assert row.status == "pending" and row.attempts == 2
    tg.clock.advance(minutes=5)
    await tg.services.outbox.run_once()
    [row] = await tg.outbox("telegram")
    assert row.status == "sent" and row.attempts == 3


async def test_403_marks_the_contact_blocked_and_stops(tg: Harness) -> None:
    number = await tg.hand_over()
    await tg.services.tickets.reply(number, await staff(tg), "Voici la réponse.")
    tg.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await tg.services.outbox.run_once()
    [row] = await tg.outbox("telegram")
    assert row.status == "dead" and "403" in (row.last_error or "")
    assert (await tg.services.tickets.get_json(number))["messages"][-1]["delivery_status"] == "failed"
    async with tg.services.db.transaction() as s:
        contact = (await s.scalars(select(Contact).where(Contact.telegram_chat_id == CHAT))).one()
    assert contact.telegram_blocked is True
    tg.clock.advance(hours=2)
    assert await tg.services.outbox.run_once() == 0  # never retried
    # The user unblocks the bot and writes again: the mark is lifted.
    await tg.say("Je vous ai débloqué, désolé.")
    async with tg.services.db.transaction() as s:
        contact = (await s.scalars(select(Contact).where(Contact.telegram_chat_id == CHAT))).one()
    assert contact.telegram_blocked is False


async def test_a_long_reply_is_split_under_4096_characters_without_losing_a_character(tg: Harness) -> None:
    number = await tg.hand_over()
    paragraphs = [f"Étape {i} : <champ> & « valeur » {'x' * 300} 🙂" for i in range(30)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 9000
    before = len(tg.api.sent(CHAT))
    await tg.services.tickets.reply(number, await staff(tg), text)
    await tg.services.outbox.run_once()
    parts = [m["text"] for m in tg.api.sent(CHAT)[before:]]
    assert len(parts) == 3
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    body = html.unescape(re.sub(r"<b>[^<]*</b>\n\n", "", "\n\n".join(parts)))
    assert body == text
    [row] = await tg.outbox("telegram")
    assert row.status == "sent"


async def test_new_ticket_alert_goes_to_the_staff_chat(db: Database, api: FakeBotApi, clock: FixedClock) -> None:
    staff_chat = -100555
    h = await make_harness(db.url, api, clock, telegram_staff_chat=staff_chat)
    try:
        number = await h.hand_over()
        await h.services.outbox.run_once()
        [alert] = h.api.sent(staff_chat)
        assert alert["text"] == f"Nouvelle demande [#{number}] (telegram) : Comment publier notre budget ?"
    finally:
        await h.close()


async def test_a_resolved_chat_ticket_asks_for_a_rating_with_buttons(tg: Harness) -> None:
    number = await tg.hand_over()
    await tg.services.tickets.set_status(number, TicketStatus.RESOLVED, None)
    await tg.services.tickets.set_priority(number, Priority.HIGH, None)  # another change: no second question
    before = len(tg.api.sent(CHAT))
    assert await tg.services.outbox.run_once() == 1
    [ask] = tg.api.sent(CHAT)[before:]
    assert f"Votre demande n°{number} est résolue" in ask["text"]
    buttons = tg.api.buttons(ask)
    assert [label for label, _ in buttons] == ["1 ★", "2 ★", "3 ★", "4 ★", "5 ★"]
    four = buttons[3][1]
    shown = {"message_id": 90, "date": 0, "chat": {"id": CHAT, "type": "private"}, "text": ask["text"]}
    await tg.press(four, message=shown, expect=0)
    await tg.api.wait_for(lambda: any(m == "editMessageText" for m, _ in tg.api.calls))
    edited = next(p for m, p in tg.api.calls if m == "editMessageText")
    assert edited["text"].endswith("Merci pour votre note : 4/5.")
    async with tg.services.db.transaction() as s:
        [rating] = (await s.scalars(select(Rating))).all()
    assert (rating.score, rating.channel) == (4, "telegram")
    # Reopened: the old buttons no longer rate.
    await tg.services.tickets.set_status(number, TicketStatus.OPEN, None)
    sent = await tg.press(buttons[0][1], message=shown)
    assert "ne peut plus être notée" in sent[-1]["text"]
