"""The chat side of intake and of ticket changes, inside their transactions.

Intake: the chat's current ticket, a follow-up link to the previous ticket, and the staff-chat alert
for a new ticket commit with the message. Ticket changes: a resolved Telegram ticket queues the
satisfaction buttons (satisfaction/ratings.py records the click).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.chat.service import IDLE, chat_row
from helpdesk.app.intake.service import IntakeContext
from helpdesk.db import store
from helpdesk.db.tables import Contact, Outbox, Ticket, TicketLink
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import Channel, TicketStatus


class ChatIntakeHook:
    """In the intake transaction: the chat's current ticket, a follow-up link, the staff-chat alert."""

    def __init__(self, *, staff_chat: int | None = None) -> None:
        self.staff_chat = staff_chat

    async def after_intake(self, ctx: IntakeContext) -> None:
        inbound = ctx.inbound
        if inbound.channel == Channel.TELEGRAM and inbound.telegram_chat_id is not None:
            chat = await chat_row(ctx.session, inbound.telegram_chat_id, ctx.now)
            chat.current_ticket_id, chat.new_question, chat.updated_at = ctx.ticket.id, False, ctx.now
            if inbound.meta.get("telegram_handover"):
                chat.transcript, chat.state = [], IDLE
            previous = inbound.meta.get("telegram_follow_up_of")
            if previous and ctx.created:
                await self._link(ctx, int(previous))
            if ctx.contact.telegram_blocked:
                ctx.contact.telegram_blocked = False
        if self.staff_chat is not None and ctx.created:
            text = f"Nouvelle demande [#{ctx.ticket.number}] ({ctx.ticket.channel}) : {ctx.ticket.subject}"
            ctx.session.add(Outbox(
                channel=Channel.TELEGRAM.value, payload={"chat_id": self.staff_chat, "text": text},
                idempotency_key=f"staff-alert:new:{ctx.ticket.id}", next_attempt_at=ctx.now, created_at=ctx.now,
            ))

    async def _link(self, ctx: IntakeContext, number: int) -> None:
        parent = (await ctx.session.scalars(select(Ticket).where(col(Ticket.number) == number))).first()
        if parent is None or parent.id is None or ctx.ticket.id is None:
            return
        ctx.ticket.parent_id = parent.id
        ctx.session.add(TicketLink(ticket_id=ctx.ticket.id, other_id=parent.id, kind="follow_up", created_at=ctx.now))
        await store.record_event(ctx.session, kind=EventKind.FOLLOW_UP_OPENED, now=ctx.now, ticket_id=parent.id,
                                 follow_up=ctx.ticket.number)
        await store.record_event(ctx.session, kind=EventKind.LINKED, now=ctx.now, ticket_id=ctx.ticket.id,
                                 other=parent.number, link="follow_up")


RATING_LABELS = {1: "1 ★", 2: "2 ★", 3: "3 ★", 4: "4 ★", 5: "5 ★"}


async def ask_rating_in_chat(s: AsyncSession, ticket: Ticket, now: datetime) -> None:
    """A TicketService callback: when a Telegram ticket is resolved, queue the satisfaction buttons (once)."""
    if ticket.status != TicketStatus.RESOLVED.value or ticket.channel != Channel.TELEGRAM.value:
        return
    contact = await s.get(Contact, ticket.requester_id) if ticket.requester_id else None
    if contact is None or contact.telegram_chat_id is None or contact.telegram_blocked:
        return
    key = f"rating-ask:{ticket.id}:{(ticket.resolved_at or now).isoformat()}"
    if (await s.scalars(select(col(Outbox.id)).where(col(Outbox.idempotency_key) == key))).first() is not None:
        return
    text = (f"Votre demande n°{ticket.number} est résolue. Comment jugez-vous l'aide reçue ? "
            "(de 1 : pas satisfait, à 5 : très satisfait)")
    buttons = [[[label, f"rate:{ticket.public_ref}:{score}"] for score, label in RATING_LABELS.items()]]
    s.add(Outbox(channel=Channel.TELEGRAM.value, payload={"chat_id": contact.telegram_chat_id, "text": text,
                                                           "buttons": buttons},
                 idempotency_key=key, next_attempt_at=now, created_at=now))
