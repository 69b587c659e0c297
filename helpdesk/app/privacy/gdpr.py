"""Personal data (RGPD): export everything about a person, erase it, and apply the retention policy.

Erasure keeps the counts reports need (tickets, channels, dates, statuses, SLA figures) and removes
names, addresses, bodies, subjects, raw originals and attachments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Attachment, Blob, Contact, Event, Message, Organization, Outbox, Quarantine, Ticket
from helpdesk.db.tables_faq import FaqProposal
from helpdesk.db.tables_portal import PortalSession, PortalToken
from helpdesk.domain.errors import NotFound
from helpdesk.domain.events import EventKind
from helpdesk.domain.values import OutboxStatus
from helpdesk.ports import Clock

ERASED = "[données effacées]"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class GdprService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def export(self, email: str) -> dict[str, Any]:
        async with self.db.transaction() as s:
            contact = await self._contact(s, email)
            org = await s.get(Organization, contact.organization_id) if contact.organization_id else None
            tickets = (await s.scalars(select(Ticket).where(col(Ticket.requester_id) == contact.id))).all()
            ticket_ids = [t.id for t in tickets]
            msgs = (
                await s.scalars(
                    select(Message)
                    .where(or_(col(Message.ticket_id).in_(ticket_ids), col(Message.author_contact_id) == contact.id))
                    .where(col(Message.direction) != "note")
                    .order_by(col(Message.id))
                )
            ).all()
            atts = (await s.scalars(
                select(Attachment).where(col(Attachment.message_id).in_([m.id for m in msgs])))).all()
            numbers = {t.id: t.number for t in tickets}
            return {
                "contact": {
                    "email": contact.email, "name": contact.name, "telegram_chat_id": contact.telegram_chat_id,
                    "bouncing": contact.bouncing, "created_at": _iso(contact.created_at),
                },
                "organization": {"name": org.name, "kind": org.kind, "insee_code": org.insee_code} if org else None,
                "tickets": [
                    {"number": t.number, "subject": t.subject, "status": t.status, "channel": t.channel,
                     "created_at": _iso(t.created_at), "closed_at": _iso(t.closed_at)}
                    for t in tickets
                ],
                "messages": [
                    {"ticket": numbers.get(m.ticket_id), "direction": m.direction, "channel": m.channel,
                     "subject": m.subject, "text": m.full_text, "created_at": _iso(m.created_at),
                     "attachments": [{"filename": a.filename, "content_type": a.content_type, "size": a.size,
                                      "sha256": a.sha256} for a in atts if a.message_id == m.id]}
                    for m in msgs
                ],
            }

    async def erase(self, email: str) -> dict[str, int]:
        now = self.clock.now()
        async with self.db.transaction() as s:
            contact = await self._contact(s, email)
            tickets = (await s.scalars(select(Ticket).where(col(Ticket.requester_id) == contact.id))).all()
            counts = await self._scrub_tickets(s, list(tickets))
            authored = (await s.scalars(select(Message).where(col(Message.author_contact_id) == contact.id))).all()
            for m in authored:
                await self._scrub_message(s, m)
            # Portal sessions and sign-in links of the address end with it (helpdesk/app/portal/signin.py).
            await s.execute(delete(PortalSession).where(col(PortalSession.contact_id) == contact.id))
            await s.execute(delete(PortalToken).where(col(PortalToken.email) == contact.email))
            contact.email = f"efface-{contact.id}@invalid"
            contact.name = None
            contact.telegram_chat_id = None
            await store.record_event(s, kind=EventKind.GDPR_ERASED, now=now, ticket_id=None, contact_id=contact.id)
            await self._drop_orphan_blobs(s)
            return {"tickets": counts, "contact": 1}

    async def apply_retention(self, months: int, *, dry_run: bool = False,
                              on_progress: Callable[[int, int | None], None] | None = None) -> int:
        """Scrub closed tickets closed more than ``months`` months ago. Returns how many.

        ``on_progress(tickets_just_scrubbed, total)`` after each ticket (for the command line)."""
        cutoff = self.clock.now() - timedelta(days=30.44 * months)
        async with self.db.transaction() as s:
            tickets = (
                await s.scalars(
                    select(Ticket).where(col(Ticket.status) == "closed", col(Ticket.closed_at) < cutoff,
                        col(Ticket.subject) != ERASED)
                )
            ).all()
            if dry_run:
                return len(tickets)
            n = await self._scrub_tickets(s, list(tickets), on_progress)
            if n:
                await store.record_event(s, kind=EventKind.GDPR_RETENTION, now=self.clock.now(), ticket_id=None,
                                         tickets=n)
            await self._drop_orphan_blobs(s)
            return n

    async def _contact(self, s: AsyncSession, email: str) -> Contact:
        contact = (await s.scalars(select(Contact).where(col(Contact.email) == email.strip().lower()))).first()
        if contact is None:
            raise NotFound(f"no contact with the address {email}")
        return contact

    async def _scrub_tickets(self, s: AsyncSession, tickets: list[Ticket],
                             on_progress: Callable[[int, int | None], None] | None = None) -> int:
        for t in tickets:
            if on_progress is not None:
                on_progress(1, len(tickets))
            t.subject = ERASED
            msgs = (await s.scalars(select(Message).where(col(Message.ticket_id) == t.id))).all()
            for m in msgs:
                await self._scrub_message(s, m)
            await s.execute(delete(Outbox).where(col(Outbox.ticket_id) == t.id,
                col(Outbox.status) == OutboxStatus.SENT.value))
            # Its question proposed as an FAQ wording: gone unless an admin made it part of the FAQ already.
            await s.execute(delete(FaqProposal).where(col(FaqProposal.ticket_id) == t.id,
                                                      col(FaqProposal.status) != "accepted"))
            events = (await s.scalars(select(Event).where(col(Event.ticket_id) == t.id))).all()
            for e in events:
                e.data = {k: v for k, v in e.data.items() if k not in {"to", "text", "subject", "email"}}
        return len(tickets)

    async def _scrub_message(self, s: AsyncSession, m: Message) -> None:
        m.visible_text = ERASED
        m.full_text = ERASED
        m.html_sanitised = None
        m.subject = None
        m.raw_sha256 = None
        m.meta = {}
        await s.execute(delete(Attachment).where(col(Attachment.message_id) == m.id))

    async def _drop_orphan_blobs(self, s: AsyncSession) -> None:
        await s.flush()
        used = union(
            select(col(Message.raw_sha256).label("h")).where(col(Message.raw_sha256).is_not(None)),
            select(col(Attachment.sha256).label("h")),
            select(col(Quarantine.raw_sha256).label("h")),
        ).subquery()
        await s.execute(delete(Blob).where(col(Blob.sha256).not_in(select(used.c.h))))

    async def count_blobs(self) -> int:
        async with self.db.transaction() as s:
            return int(await s.scalar(select(func.count()).select_from(Blob)) or 0)
