"""Mail that machines send us: bounces mark an address as bouncing; unthreaded noise is kept, not ticketed.

A bounce (a DSN for one of our messages: it must name one of our outbound Message-IDs, see
``addresses_we_wrote_to``) marks the failed recipient's contact as bouncing so staff see it and
nobody keeps writing into the void; when it names one of our messages it is also
stored on that ticket (automatic: the status does not change). Automatic mail that threads onto
no ticket (an out-of-office without references, a mailer-daemon notice) creates no ticket: its raw
bytes are kept in the blob store and an event records it (staff list these on the « Courrier
automatique » page, helpdesk/app/mail/automatic_admin.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlmodel import col

from helpdesk.app.intake.messages import InboundMessage, IntakeResult
from helpdesk.app.intake.service import IntakeContext
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Message, Outbox, Ticket
from helpdesk.domain.events import EventKind
from helpdesk.domain.threading import subject_ticket_number
from helpdesk.domain.values import Direction, IntakeAction
from helpdesk.ports import Clock

CONTACT_BOUNCING = EventKind.CONTACT_BOUNCING
AUTOMATIC_IGNORED = EventKind.AUTOMATIC_IGNORED


class Receiver(Protocol):
    async def receive(self, msg: InboundMessage) -> IntakeResult: ...


class AutomaticMailService:
    def __init__(self, db: Database, clock: Clock, intake: Receiver) -> None:
        self.db = db
        self.clock = clock
        self.intake = intake

    async def addresses_we_wrote_to(self, message_ids: Sequence[str]) -> set[str]:
        """The addresses (lower case) our outbound messages with these Message-IDs were sent to; empty when
        none of the ids is a message we sent (a forged or foreign bounce)."""
        ids = sorted({i for i in message_ids if i})[:50]
        if not ids:
            return set()
        async with self.db.transaction() as s:
            rows = (await s.execute(
                select(col(Message.id), col(Contact.email)).join(Ticket, col(Ticket.id) == col(Message.ticket_id))
                .join(Contact, col(Contact.id) == col(Ticket.requester_id), isouter=True)
                .where(col(Message.external_id).in_(ids), col(Message.direction) == Direction.OUTBOUND.value))).all()
            out = {str(email).lower() for _, email in rows if email}
            db_ids = [int(i) for i, _ in rows if i is not None]
            payloads = list((await s.scalars(
                select(col(Outbox.payload)).where(col(Outbox.message_id).in_(db_ids)))).all()) if db_ids else []
            # Mail with no message row of its own (the rating request): its Outbox payload names the id.
            payloads += list((await s.scalars(select(col(Outbox.payload)).where(
                col(Outbox.payload)["message_id"].as_string().in_(ids)))).all())
            out |= {str(p.get("to")).lower() for p in payloads if isinstance(p, dict) and p.get("to")}
            return out

    async def mark_bouncing(self, recipients: Sequence[str], reason: str) -> list[str]:
        """Flag the contacts whose address bounced. Returns the addresses that matched a contact."""
        wanted = sorted({r.strip().lower() for r in recipients if r and "@" in r})
        if not wanted:
            return []
        now = self.clock.now()
        async with self.db.transaction() as s:
            contacts = (await s.scalars(select(Contact).where(col(Contact.email).in_(wanted)))).all()
            for c in contacts:
                c.bouncing = True
                c.bounce_reason = reason[:500]
                await store.record_event(s, kind=CONTACT_BOUNCING, now=now, ticket_id=None,
                                         contact_id=c.id, email=c.email, reason=reason[:300])
            return [c.email for c in contacts if c.email]

    async def threads(self, msg: InboundMessage) -> bool:
        """Whether ``msg`` would land on an existing ticket (by message ids or a participant's tag)."""
        async with self.db.transaction() as s:
            known = await store.tickets_for_message_ids(s, [*msg.in_reply_to, *msg.references])
            if known:
                return True
            number = subject_ticket_number(msg.subject)
            if number is None or not msg.sender_email:
                return False
            ticket = (await s.scalars(select(Ticket).where(col(Ticket.number) == number))).first()
            contact = (await s.scalars(select(Contact).where(col(Contact.email) == msg.sender_email.lower()))).first()
            if ticket is None or contact is None or contact.id is None:
                return False
            return await store.is_participant(s, ticket, contact.id)

    async def receive(self, msg: InboundMessage) -> IntakeResult:
        """Store automatic mail on the ticket it belongs to, or keep it aside without a ticket."""
        if await self.threads(msg):
            return await self.intake.receive(msg)
        now = self.clock.now()
        async with self.db.transaction() as s:
            if msg.external_id:
                seen = await s.scalar(
                    select(col(Message.id)).where(col(Message.channel) == msg.channel.value,
                                             col(Message.external_id) == msg.external_id)
                )
                if seen is not None:
                    return IntakeResult(IntakeAction.DUPLICATE, None, "already received")
            digest = await store.put_blob(s, msg.raw, now) if msg.raw is not None else None
            reason = f"automatic mail ({msg.automatic_reason or 'automatic'}) about no known ticket: kept, no ticket"
            await store.record_event(
                s, kind=AUTOMATIC_IGNORED, now=now, ticket_id=None, channel=msg.channel.value,
                external_id=msg.external_id, sender=msg.sender_email, raw_sha256=digest,
                reason=msg.automatic_reason, automatic_kind=msg.meta.get("automatic_kind"),
                subject=(msg.subject or "")[:300] or None,
            )
        return IntakeResult(IntakeAction.IGNORED, None, reason)


class ClearBouncingHook:
    """A human message from a bouncing address proves it works again (runs inside intake)."""

    async def after_intake(self, ctx: IntakeContext) -> None:
        if not ctx.inbound.automatic and ctx.contact.bouncing and ctx.inbound.sender_email:
            ctx.contact.bouncing = False
            ctx.contact.bounce_reason = None
