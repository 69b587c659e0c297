"""Merge, split and link tickets: the staff actions that change which ticket a conversation lives on.

A merge closes the source into the target; a split moves one requester message threaded by mistake to
a ticket of its own; a link relates two tickets. Each is noted on both tickets and audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from helpdesk.app.tickets import status as ticket_status
from helpdesk.db import store
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Message, Ticket, TicketLink
from helpdesk.domain import lifecycle
from helpdesk.domain.errors import NotFound, ValidationError
from helpdesk.domain.events import EventKind
from helpdesk.domain.threading import strip_reply_prefixes
from helpdesk.domain.values import ActorKind, Direction, TicketStatus
from helpdesk.ports import Clock

# Recomputes a ticket's SLA inside the transaction (bootstrap passes helpdesk.app.sla.service.refresh).
Refresh = Callable[[AsyncSession, Ticket, datetime], Awaitable[object]]


class MergeSplitService:
    def __init__(self, db: Database, clock: Clock, *, refresh: Refresh | None = None) -> None:
        self.db = db
        self.clock = clock
        self.refresh = refresh

    async def link(self, number: int, other_number: int, actor: int) -> None:
        if number == other_number:
            raise ValidationError("un ticket ne peut pas être lié à lui-même")
        now = self.clock.now()
        async with self.db.transaction() as s:
            t = await store.ticket_by_number(s, number)
            other = await store.ticket_by_number(s, other_number)
            assert t.id is not None and other.id is not None
            s.add(TicketLink(ticket_id=t.id, other_id=other.id, kind="related", created_at=now))
            await store.record_event(s, kind=EventKind.LINKED, now=now, ticket_id=t.id, actor_kind=ActorKind.STAFF,
                                     actor_id=actor, other=other.number, link="related")

    async def split(self, number: int, message_id: int, actor: int) -> int:
        """Move a requester's message threaded here by mistake to a ticket of its own; the new number.

        The new ticket starts when the message arrived (its SLA clock too), keeps the sender as
        requester, the team and the priority; both tickets are linked, noted and audited. Later
        replies to that message thread onto the new ticket (threading follows the message).
        """
        now = self.clock.now()
        async with self.db.transaction() as s:
            src = await store.ticket_by_number(s, number, lock=not self.db.is_sqlite)
            msg = await s.get(Message, message_id) if 0 < message_id <= store.MAX_ID else None
            if msg is None or msg.ticket_id != src.id:
                raise NotFound(f"message {message_id} introuvable sur le ticket #{number}")
            if msg.direction != Direction.INBOUND.value:
                raise ValidationError("seul un message reçu peut être séparé dans un nouveau ticket")
            others = await s.scalar(select(func.count(col(Message.id))).where(
                col(Message.ticket_id) == src.id, col(Message.direction) == Direction.INBOUND.value,
                col(Message.id) != msg.id))
            if not others:
                raise ValidationError("c'est le seul message reçu de ce ticket : il n'y a rien à séparer")
            assert src.id is not None
            requester = await s.get(Contact, msg.author_contact_id) if msg.author_contact_id else None
            subject = strip_reply_prefixes(msg.subject or "") or src.subject
            [new_number] = await store.reserve_ticket_numbers(s, 1)
            new = Ticket(
                number=new_number, public_ref=store.new_public_ref(), subject=subject[:200],
                status=TicketStatus.NEW.value, priority=src.priority, channel=msg.channel, team_id=src.team_id,
                requester_id=requester.id if requester else src.requester_id,
                organization_id=requester.organization_id if requester else src.organization_id,
                created_at=msg.created_at, updated_at=now, last_inbound_at=msg.created_at,
            )
            s.add(new)
            await s.flush()
            assert new.id is not None
            msg.ticket_id = new.id
            msg.thread_reason = f"split from #{src.number} by staff (was: {msg.thread_reason or 'unknown'})"
            src.updated_at = now
            s.add(TicketLink(ticket_id=new.id, other_id=src.id, kind="split_from", created_at=now))
            await store.record_event(s, kind=EventKind.TICKET_CREATED, now=msg.created_at, ticket_id=new.id,
                                     actor_kind=ActorKind.STAFF, actor_id=actor, channel=msg.channel,
                                     number=new.number, split_from=src.number)
            for tid, text in ((src.id, f"Un message a été séparé dans le ticket #{new.number}."),
                              (new.id, f"Message séparé du ticket #{src.number}, où il avait été rattaché.")):
                s.add(Message(ticket_id=tid, direction=Direction.NOTE.value, channel="web", author_staff_id=actor,
                              visible_text=text, full_text=text, created_at=now))
                await store.record_event(s, kind=EventKind.SPLIT, now=now, ticket_id=tid, actor_kind=ActorKind.STAFF,
                                         actor_id=actor, message_id=msg.id, source=src.number, target=new.number)
            await s.flush()
            if self.refresh is not None:
                for ticket in (src, new):
                    await self.refresh(s, ticket, now)
            return new.number

    async def merge(self, source_number: int, target_number: int, actor: int) -> None:
        """Close ``source`` into ``target``: linked, noted on both, the source's requester kept on it."""
        if source_number == target_number:
            raise ValidationError("un ticket ne peut pas être fusionné avec lui-même")
        now = self.clock.now()
        async with self.db.transaction() as s:
            src = await store.ticket_by_number(s, source_number, lock=not self.db.is_sqlite)
            dst = await store.ticket_by_number(s, target_number, lock=not self.db.is_sqlite)
            if src.merged_into_id is not None:
                raise ValidationError(f"le ticket #{src.number} est déjà fusionné")
            if dst.merged_into_id is not None:
                raise ValidationError(f"le ticket #{dst.number} est lui-même fusionné dans un autre")
            assert src.id is not None and dst.id is not None
            src.merged_into_id, src.updated_at = dst.id, now
            dst.updated_at = now
            s.add(TicketLink(ticket_id=src.id, other_id=dst.id, kind="merged", created_at=now))
            for tid, text in ((src.id, f"Fusionné dans le ticket #{dst.number}."),
                              (dst.id, f"Le ticket #{src.number} « {src.subject} » a été fusionné ici.")):
                s.add(Message(ticket_id=tid, direction=Direction.NOTE.value, channel="web", author_staff_id=actor,
                              visible_text=text, full_text=text, created_at=now))
            if src.status != TicketStatus.CLOSED.value:  # a closed ticket can be merged: it stays closed
                await ticket_status.change_status(s, src, lifecycle.Action.CLOSE, now, reason="merged",
                                                  actor_kind=ActorKind.STAFF, actor_id=actor)
            for tid in (src.id, dst.id):
                await store.record_event(s, kind=EventKind.MERGED, now=now, ticket_id=tid, actor_kind=ActorKind.STAFF,
                                         actor_id=actor, source=src.number, target=dst.number)
