"""The acknowledgement of a new email ticket, queued in the intake transaction (an IntakeHook).

French text with the ``[#N]`` reference and what happens next; the FAQ suggestions the channel
found (only when the FAQ engine was confident) with their links. Sent with
``Auto-Submitted: auto-replied``. Never sent to automatic mail, to a bouncing address, to our own
addresses or for a ticket staff opened themselves (``taken_by_staff_id`` in the message meta); at
most ``per_sender`` acknowledgements to one address per ``sender_window``; and none once a loop
guard trips (too many messages from that sender, or on that ticket, in a short window).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpdesk.app import store
from helpdesk.app.intake import IntakeContext
from helpdesk.db.tables import Message, Outbox
from helpdesk.domain.values import Channel, Direction, format_ticket_number

ACK_SUPPRESSED = "ack.suppressed"
ACK_QUEUED = "ack.queued"


@dataclass(frozen=True, slots=True)
class AckPolicy:
    per_sender: int = 3
    sender_window: timedelta = timedelta(hours=1)
    loop_messages: int = 8
    loop_window: timedelta = timedelta(minutes=15)


async def loop_suppression(
    s: AsyncSession, *, ticket_id: int, parent_id: int | None, contact_id: int | None, now: datetime,
    policy: AckPolicy,
) -> str | None:
    """Why no automatic message may go out now (a loop with a robot), or None."""
    since = now - policy.loop_window
    tickets = [t for t in (ticket_id, parent_id) if t is not None]
    on_ticket = await s.scalar(
        select(func.count(Message.id)).where(
            Message.ticket_id.in_(tickets), Message.direction == Direction.INBOUND.value, Message.created_at >= since
        )
    )
    if int(on_ticket or 0) >= policy.loop_messages:
        return f"loop guard: {on_ticket} messages on the ticket in {policy.loop_window}"
    if contact_id is not None:
        from_sender = await s.scalar(
            select(func.count(Message.id)).where(
                Message.author_contact_id == contact_id, Message.direction == Direction.INBOUND.value,
                Message.created_at >= since,
            )
        )
        if int(from_sender or 0) >= policy.loop_messages:
            return f"loop guard: {from_sender} messages from this sender in {policy.loop_window}"
    return None


def ack_text(number: int, subject: str, suggestions: Sequence[dict[str, Any]], public_url: str) -> str:
    ref = format_ticket_number(number)
    lines = [
        "Bonjour,",
        "",
        f"Nous avons bien reçu votre demande « {subject} ». Elle est enregistrée sous la référence {ref}.",
        "",
        "Un membre de l'équipe d'assistance du CRAIG l'étudie et vous répondra par courriel, "
        "en général sous deux jours ouvrés.",
        f"Pour compléter votre demande, répondez simplement à ce message en gardant {ref} dans l'objet.",
    ]
    if suggestions:
        lines += ["", "En attendant, ces fiches de notre FAQ répondent peut-être déjà à votre question :"]
        base = public_url.rstrip("/")
        for sug in suggestions:
            lines.append(f"- {sug.get('title', '')} : {base}/faq/{sug.get('id', '')}")
    lines += ["", "Ceci est un message automatique : merci de ne pas modifier l'objet si vous y répondez.", "",
              "L'équipe d'assistance du CRAIG"]
    return "\n".join(lines)


class AcknowledgementHook:
    def __init__(
        self, *, own_addresses: Sequence[str], public_url: str, mail_domain: str,
        policy: AckPolicy | None = None,
    ) -> None:
        self.own = {a.lower() for a in own_addresses}
        self.public_url = public_url
        self.mail_domain = mail_domain
        self.policy = policy or AckPolicy()

    async def after_intake(self, ctx: IntakeContext) -> None:
        inbound, contact, ticket = ctx.inbound, ctx.contact, ctx.ticket
        if not ctx.created or inbound.channel is not Channel.EMAIL or inbound.automatic:
            return
        email = (contact.email or "").lower()
        if not email or email in self.own or contact.bouncing:
            return
        if inbound.meta.get("taken_by_staff_id") is not None:  # staff opened it (e.g. from kept automatic mail)
            await store.record_event(ctx.session, kind=ACK_SUPPRESSED, now=ctx.now, ticket_id=ticket.id,
                                     reason="ticket opened by staff: no acknowledgement")
            return
        assert ticket.id is not None
        s, now = ctx.session, ctx.now
        reason = await loop_suppression(
            s, ticket_id=ticket.id, parent_id=ticket.parent_id, contact_id=contact.id, now=now, policy=self.policy
        )
        if reason is None:
            recent = await s.scalar(
                select(func.count(Outbox.id)).where(
                    Outbox.idempotency_key.like(f"ack:{email}:%"), Outbox.created_at >= now - self.policy.sender_window
                )
            )
            if int(recent or 0) >= self.policy.per_sender:
                reason = f"rate limit: {recent} acknowledgements to this address in {self.policy.sender_window}"
        if reason is not None:
            await store.record_event(s, kind=ACK_SUPPRESSED, now=now, ticket_id=ticket.id, reason=reason)
            return
        suggestions = list(inbound.meta.get("faq_suggestions") or [])[:3]
        text = ack_text(ticket.number, ticket.subject, suggestions, self.public_url)
        message_id = f"<ack.{secrets.token_hex(10)}.{ticket.number}@{self.mail_domain}>"
        references = [*inbound.references, *([inbound.external_id] if inbound.external_id else [])][-10:]
        subject = f"{format_ticket_number(ticket.number)} Accusé de réception : {ticket.subject}"
        msg = Message(
            ticket_id=ticket.id, direction=Direction.OUTBOUND.value, channel=Channel.EMAIL.value,
            subject=subject, visible_text=text, full_text=text, external_id=message_id, automatic=True,
            delivery_status="queued", meta={"kind": "acknowledgement", "faq_suggestions": suggestions},
            created_at=now,
        )
        s.add(msg)
        await s.flush()
        payload = {
            "to": contact.email, "to_name": contact.name, "subject": subject, "text": text,
            "message_id": message_id, "in_reply_to": inbound.external_id, "references": references,
            "ticket_number": ticket.number, "ticket_ref": ticket.public_ref, "db_message_id": msg.id,
            "auto_submitted": "auto-replied",
        }
        s.add(Outbox(channel=Channel.EMAIL.value, ticket_id=ticket.id, message_id=msg.id, payload=payload,
                     idempotency_key=f"ack:{email}:{ticket.number}", next_attempt_at=now, created_at=now))
        await store.record_event(s, kind=ACK_QUEUED, now=now, ticket_id=ticket.id, message_id=msg.id,
                                 suggestions=len(suggestions))
