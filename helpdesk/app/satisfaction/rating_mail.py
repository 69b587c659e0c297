"""After an email ticket is resolved, one message asking the requester for a one-click rating.

A TicketService callback (in the transaction that resolves the ticket): the Outbox row is keyed by
the ticket and the moment it was resolved, so a reopened and resolved-again ticket asks again, but a
ticket is never asked twice for one resolution. Links lead to /satisfaction/{public reference}.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.mail_guard import inert, refusal
from helpdesk.db.tables import Contact, Outbox, Ticket
from helpdesk.domain.values import Channel, TicketStatus, format_ticket_number

SCORES = {1: "pas satisfait", 2: "peu satisfait", 3: "moyennement satisfait", 4: "satisfait", 5: "très satisfait"}


def rating_text(ticket: Ticket, public_url: str) -> str:
    base = f"{public_url.rstrip('/')}/satisfaction/{ticket.public_ref}"
    lines = [
        "Bonjour,", "",
        f"Votre demande {format_ticket_number(ticket.number)} « {inert(ticket.subject)} » est résolue. "
        "Comment jugez-vous l'aide reçue ? Un clic suffit :", "",
        *(f"{score} – {label} : {base}?note={score}" for score, label in SCORES.items()), "",
        "Si la réponse ne vous convient pas, répondez simplement à ce message : votre demande sera rouverte.", "",
        "L'équipe d'assistance du CRAIG",
    ]
    return "\n".join(lines)


class RatingMailer:
    def __init__(self, public_url: str, mail_domain: str) -> None:
        self.public_url = public_url
        self.mail_domain = mail_domain

    async def __call__(self, s: AsyncSession, ticket: Ticket, now: datetime) -> None:
        if ticket.status != TicketStatus.RESOLVED.value or ticket.channel != Channel.EMAIL.value:
            return
        contact = await s.get(Contact, ticket.requester_id) if ticket.requester_id else None
        if contact is None or not contact.email or contact.bouncing:
            return
        key = f"rating-ask:{ticket.id}:{(ticket.resolved_at or now).isoformat()}"
        if (await s.scalars(select(col(Outbox.id)).where(col(Outbox.idempotency_key) == key))).first() is not None:
            return
        if await refusal(s, ticket, contact, now, kind="rating-ask") is not None:
            return
        payload: dict[str, Any] = {
            "to": contact.email, "to_name": contact.name,
            "subject": f"{format_ticket_number(ticket.number)} Votre avis sur notre réponse : {ticket.subject}",
            "text": rating_text(ticket, self.public_url),
            "message_id": f"<rating.{secrets.token_hex(10)}.{ticket.number}@{self.mail_domain}>",
            "in_reply_to": None, "references": [], "ticket_number": ticket.number, "ticket_ref": ticket.public_ref,
            "auto_submitted": "auto-generated",
        }
        s.add(Outbox(channel=Channel.EMAIL.value, ticket_id=ticket.id, payload=payload, idempotency_key=key,
                     next_attempt_at=now, created_at=now))
